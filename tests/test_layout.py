"""The layout holds: no import cycle between the workspace's modules, no module past the size of one reason.

Read statically (``ast``, nothing is imported) over every ``src`` package of ``libs/``, ``services/`` and
``tools/``, so a new workspace member is covered once it exists.

Imports counted: every ``import`` and ``from ... import`` statement that runs, at module level or inside a
function (a lazy import still ties the two modules together, it only defers when). Imports under
``if TYPE_CHECKING:`` are not counted: they never run, and annotations are how two modules that use each
other's types say so without depending on each other at run time. ``from pkg import name`` is an edge to
the module ``pkg.name`` when there is one, else to ``pkg`` itself.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parent.parent
MAX_LINES: Final = 500
"""A module past this holds several things that change for different reasons (see the house style)."""

DATA_TABLES: Final[dict[str, str]] = {}
"""Modules allowed past ``MAX_LINES`` because they are tables of facts, not logic (path: why). None is yet:
a table that grows past the limit goes here with its reason, code never does."""


def source_roots() -> list[Path]:
    """Each workspace member's ``src`` folder."""
    return sorted(p for group in ("libs", "services", "tools") for p in (ROOT / group).glob("*/src"))


def modules() -> dict[str, Path]:
    """Every module of the workspace by dotted name (a package by its own name, for its ``__init__``)."""
    found: dict[str, Path] = {}
    for src in source_roots():
        for path in src.rglob("*.py"):
            parts = list(path.relative_to(src).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _runs(node: ast.If) -> bool:
    """False for ``if TYPE_CHECKING:`` (and ``typing.TYPE_CHECKING``): its body never runs."""
    test = node.test
    return not (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
    )


def _imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """The import statements that run, at any depth, leaving out ``if TYPE_CHECKING:`` bodies."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If) and not _runs(node):
            stack.extend(node.orelse)
        else:
            stack.extend(ast.iter_child_nodes(node))


def imported_by(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The workspace modules that module ``name`` (at ``path``) imports."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in _imports(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names if alias.name in known)
            continue
        base = node.module or ""
        if node.level:
            anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
            base = ".".join([*anchor, *([base] if base else [])])
        for alias in node.names:
            target = f"{base}.{alias.name}"
            if target in known:
                out.add(target)
            elif base in known:
                out.add(base)
    out.discard(name)
    return out


def import_graph() -> dict[str, set[str]]:
    """Module -> the workspace modules it imports."""
    known = modules()
    return {name: imported_by(name, path, known) for name, path in known.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles: strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0

    def visit(start: str) -> None:
        nonlocal counter
        # Iterative, so a deep import chain cannot hit the recursion limit.
        work: list[tuple[str, Iterator[str]]] = []
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        work.append((start, iter(sorted(graph.get(start, ())))))
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))

    for name in sorted(graph):
        if name not in index:
            visit(name)
    return sorted(found)


def oversized() -> dict[str, int]:
    """Modules past ``MAX_LINES`` that are not listed data tables (path relative to the root: lines)."""
    out: dict[str, int] = {}
    for path in modules().values():
        relative = path.relative_to(ROOT).as_posix()
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES and relative not in DATA_TABLES:
            out[relative] = lines
    return dict(sorted(out.items()))


def test_the_reader_sees_every_member_and_real_imports() -> None:
    graph = import_graph()
    assert {"etsygen_common.late", "etsygen_gateway.bootstrap", "etsygen_cli"} <= set(graph)
    assert "etsygen_common.late" in graph["etsygen_common.runtime"]
    assert "etsygen_gateway.api.app" in graph["etsygen_gateway.bootstrap"]


def test_a_cycle_is_found_and_a_type_checking_import_is_not_one(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("from b import x\n")
    (tmp_path / "b.py").write_text("import c\n\ndef f():\n    from a import y\n")
    (tmp_path / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import a\n")
    known = {p.stem: p for p in tmp_path.glob("*.py")}
    graph = {name: imported_by(name, path, known) for name, path in known.items()}
    assert graph == {"a": {"b"}, "b": {"a", "c"}, "c": set()}
    assert cycles(graph) == [["a", "b"]]


def test_no_import_cycle_between_modules() -> None:
    found = cycles(import_graph())
    assert not found, "import cycles (each line one cycle's modules):\n" + "\n".join(
        " <-> ".join(cycle) for cycle in found
    )


def test_no_module_over_500_lines_outside_data_tables() -> None:
    # Fails naming every module past the limit, with its length: split it along its reasons to change, or,
    # for a pure table of facts, list it in DATA_TABLES with why.
    found = oversized()
    assert not found, f"modules over {MAX_LINES} lines:\n" + "\n".join(
        f"{path}: {lines}" for path, lines in found.items()
    )
