"""A lint for migrations that must run on a live database: no statement may hold a long exclusive lock.

Migrations are applied while the services run (each service at start, the migration Job alongside a rollout),
so a statement that rewrites or scans a big table under an ACCESS EXCLUSIVE lock stops every reader and
writer of it for as long as that takes. :func:`lint_migration` reads one file's SQL and names such
statements; tables the same file creates are new and empty, so anything on them is fine.

It is a deliberately small reader, not a SQL parser: comments and dollar-quoted bodies (functions, ``DO``
blocks, whose statements run later or dynamically) are blanked out, the rest is split on ``;``, and each
statement is matched against the forms below. It errs on the side of flagging; an intended exception is
allow-listed where the lint is applied, with its reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from etsygen_common.migrations import NO_TRANSACTION as NO_TRANSACTION_MARKER

_IDENT = r'(?:"[^"]+"|[a-z_][a-z0-9_$]*)'
_QUALIFIED = rf"({_IDENT}(?:\.{_IDENT})?)"
_VOLATILE_DEFAULTS = re.compile(
    r"\b(random|clock_timestamp|timeofday|gen_random_uuid|uuid_generate_v[14]\w*|nextval|txid_current)\s*\("
)


@dataclass(frozen=True, slots=True)
class Finding:
    """One statement that would hold a long lock on a live table, and why."""

    rule: str
    statement: str
    message: str


def lint_migration(sql: str) -> list[Finding]:
    """Name the statements of one migration file that take long exclusive locks on existing tables.

    Rules: ``index-not-concurrent`` (CREATE INDEX without CONCURRENTLY), ``drop-index-not-concurrent``,
    ``volatile-default`` (ADD COLUMN whose default is volatile, an identity, a serial or a stored generated
    column: each rewrites the table), ``alter-column-type``, ``set-not-null`` (without a validated CHECK in
    the same file), ``constraint-validated-under-lock`` (FOREIGN KEY/CHECK without NOT VALID;
    UNIQUE/PRIMARY KEY without USING INDEX), ``table-rewrite`` (VACUUM FULL, CLUSTER), ``lock-table``,
    ``reindex-not-concurrent``, ``refresh-not-concurrent``, and ``concurrently-in-transaction``
    (CONCURRENTLY in a file without the ``-- etsygen:no-transaction`` first line, which PostgreSQL refuses).
    """
    no_transaction = sql.lstrip().startswith(NO_TRANSACTION_MARKER)
    statements = _statements(sql)
    created = {_bare(m.group(1)) for s in statements for m in [_CREATE_TABLE.match(s)] if m}
    created_indexes = {_bare(m.group(1)) for s in statements for m in [_CREATE_INDEX_NAME.match(s)] if m}
    validated_tables = {_bare(m.group(1)) for s in statements for m in [_VALIDATES.match(s)] if m}
    findings: list[Finding] = []
    for statement in statements:
        for rule, message in _check(statement, created, created_indexes, validated_tables, no_transaction):
            findings.append(Finding(rule=rule, statement=statement[:160], message=message))
    return findings


_CREATE_TABLE = re.compile(rf"^create (?:unlogged )?table (?:if not exists )?{_QUALIFIED}")
_CREATE_INDEX = re.compile(
    rf"^create (?:unique )?index (concurrently )?(?:if not exists )?(?:{_IDENT} )?on (?:only )?{_QUALIFIED}"
)
_CREATE_INDEX_NAME = re.compile(
    rf"^create (?:unique )?index (?:concurrently )?(?:if not exists )?({_IDENT}) on "
)
_DROP_INDEX = re.compile(rf"^drop index (concurrently )?(?:if exists )?{_QUALIFIED}")
_ALTER_TABLE = re.compile(rf"^alter table (?:if exists )?(?:only )?{_QUALIFIED} (.*)$")
_VALIDATES = re.compile(rf"^alter table (?:if exists )?(?:only )?{_QUALIFIED} validate constraint ")


def _check(
    statement: str,
    created: set[str],
    created_indexes: set[str],
    validated_tables: set[str],
    no_transaction: bool,
) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if " concurrently " in f" {statement} " and not no_transaction:
        out.append(
            (
                "concurrently-in-transaction",
                f"CONCURRENTLY cannot run in a transaction: start the file with {NO_TRANSACTION_MARKER!r}",
            )
        )
    if m := _CREATE_INDEX.match(statement):
        if not m.group(1) and _bare(m.group(2)) not in created:
            out.append(
                ("index-not-concurrent", "CREATE INDEX on an existing table blocks its writes: CONCURRENTLY")
            )
    elif m := _DROP_INDEX.match(statement):
        if not m.group(1) and _bare(m.group(2)) not in created_indexes:
            out.append(
                (
                    "drop-index-not-concurrent",
                    "DROP INDEX locks its table exclusively: DROP INDEX CONCURRENTLY",
                )
            )
    elif m := _ALTER_TABLE.match(statement):
        table = _bare(m.group(1))
        if table not in created:
            for action in _split_top_level(m.group(2)):
                out.extend(_check_alter_action(action, table in validated_tables))
    elif re.match(r"^vacuum\b.*\bfull\b", statement) or statement.startswith("cluster"):
        out.append(("table-rewrite", "VACUUM FULL and CLUSTER rewrite the table under an exclusive lock"))
    elif statement.startswith("lock "):
        out.append(("lock-table", "LOCK TABLE holds the lock until the migration's transaction ends"))
    elif statement.startswith("reindex") and "concurrently" not in statement:
        out.append(("reindex-not-concurrent", "REINDEX blocks writes: REINDEX ... CONCURRENTLY"))
    elif statement.startswith("refresh materialized view") and "concurrently" not in statement:
        out.append(("refresh-not-concurrent", "REFRESH blocks reads of the view: REFRESH ... CONCURRENTLY"))
    return out


def _check_alter_action(action: str, validated: bool) -> list[tuple[str, str]]:
    if re.match(r"^add (?!constraint\b|check\b|foreign key\b|unique\b|primary key\b)", action):
        if (
            _VOLATILE_DEFAULTS.search(action)
            or re.search(r"\bgenerated\b.*\bas identity\b", action)
            or re.search(r"\bgenerated always as \(.*\) stored\b", action)
            or re.search(r"\b(small|big)?serial\b", action)
        ):
            return [
                (
                    "volatile-default",
                    "ADD COLUMN with a volatile default, identity, serial or stored generated column "
                    "rewrites the table: add it without one, fill it in batches",
                )
            ]
        return []
    if re.match(r"^add (constraint \S+ )?(check|foreign key)\b", action) and "not valid" not in action:
        return [
            (
                "constraint-validated-under-lock",
                "ADD CONSTRAINT scans the table under lock: add it NOT VALID, VALIDATE CONSTRAINT later",
            )
        ]
    if re.match(r"^add (constraint \S+ )?(unique|primary key)\b", action) and "using index" not in action:
        return [
            (
                "constraint-validated-under-lock",
                "ADD UNIQUE/PRIMARY KEY builds its index under lock: CREATE UNIQUE INDEX CONCURRENTLY, then "
                "ADD CONSTRAINT ... USING INDEX",
            )
        ]
    if re.match(r"^alter (column )?\S+ (set data )?type\b", action):
        return [("alter-column-type", "ALTER COLUMN TYPE rewrites the table: add a new column instead")]
    if re.match(r"^alter (column )?\S+ set not null\b", action) and not validated:
        return [
            (
                "set-not-null",
                "SET NOT NULL scans the table under lock: first ADD CONSTRAINT ... CHECK (col IS NOT NULL) "
                "NOT VALID and VALIDATE CONSTRAINT it",
            )
        ]
    return []


def _bare(name: str) -> str:
    """``schema.table`` or ``"Table"`` → ``table``: what the file refers to."""
    return name.rsplit(".", 1)[-1].strip('"')


def _statements(sql: str) -> list[str]:
    """Lower-cased statements with comments, string literals and dollar-quoted bodies blanked out."""
    text = _blank(sql)
    return [" ".join(part.split()) for part in text.split(";") if part.strip()]


def _blank(sql: str) -> str:
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        if sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            i = n if end < 0 else end + 2
        elif sql[i] == "'":
            end = i + 1
            while end < n and not (sql[end] == "'" and not sql.startswith("''", end)):
                end += 2 if sql.startswith("''", end) else 1
            out.append("''")
            i = end + 1
        elif (tag := re.match(r"\$[a-zA-Z_]*\$", sql[i:])) is not None:
            end = sql.find(tag.group(0), i + len(tag.group(0)))
            out.append("$body$")
            i = n if end < 0 else end + len(tag.group(0))
        else:
            out.append(sql[i].lower())
            i += 1
    return "".join(out)


def _split_top_level(actions: str) -> list[str]:
    """ALTER TABLE's comma-separated actions, ignoring commas inside parentheses."""
    parts: list[str] = []
    depth, start = 0, 0
    for i, ch in enumerate(actions):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(actions[start:i].strip())
            start = i + 1
    parts.append(actions[start:].strip())
    return [p for p in parts if p]
