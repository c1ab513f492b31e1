"""Deterministic listing validator and safe repairs for product concepts.

Every concept is checked here whatever produced it (the built-in composer or an AI provider). ``validate``
lists what breaks Etsy's listing rules; ``repair`` fixes only what can be fixed without inventing content
(whitespace, duplicates, over-long text cut at a word boundary, disallowed characters, surplus tags and
styles). What is left after a repair goes back to the provider as the list of violations.

Invariant (property-tested): a concept with no violations is returned unchanged by ``repair``, and
``repair`` is idempotent.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final, get_args

import msgspec

from etsygen_common.contracts.products import ProductConcept, WhenMade, WhoMade
from etsygen_generator.domain.text import (
    StemIndex,
    ascii_fast_path,
    is_material_char,
    is_tag_char,
    is_title_char,
    normalize_whitespace,
    plural_signature,
    truncate_at_word,
)

TITLE_MAX_CHARS: Final = 140
TAG_COUNT: Final = 13
TAG_MAX_CHARS: Final = 20
STYLES_MAX: Final = 2
TITLE_ONCE_SYMBOLS: Final = "%:&+"
WHO_MADE_VALUES: Final[tuple[str, ...]] = get_args(WhoMade)
WHEN_MADE_VALUES: Final[tuple[str, ...]] = get_args(WhenMade)

VIOLATION_CODES: Final[tuple[str, ...]] = (
    "title_empty",
    "whitespace",
    "title_too_long",
    "title_bad_chars",
    "title_repeated_symbol",
    "tags_count",
    "tag_empty",
    "tag_too_long",
    "tag_bad_chars",
    "tag_duplicate",
    "tag_plural_duplicate",
    "materials_empty",
    "materials_bad_chars",
    "styles_empty",
    "styles_too_many",
    "who_made_invalid",
    "when_made_invalid",
    "description_empty",
    "ai_disclosure_missing",
)
"""Every code :func:`validate` can report."""

AI_DISCLOSURE_LINE: Final = (
    "AI disclosure: this design and listing text were created with the help of AI and automated tools."
)

# A disclosure line names AI and says what it did. "AI" is matched as a whole word so "said" or "paint"
# never count.
_AI_TERM = re.compile(r"(?<!\w)(?:ai|a\.i\.|artificial intelligence)(?!\w)", re.IGNORECASE)
_DISCLOSURE_VERB = re.compile(
    r"\b(?:generat\w*|assist\w*|creat\w*|design\w*|made|produc\w*|help\w*|using|used|with|written|drafted)\b",
    re.IGNORECASE,
)


class Violation(msgspec.Struct, frozen=True, kw_only=True):
    """One broken rule: a stable code, the field it is in, and a sentence an AI provider can act on."""

    code: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.code} ({self.field}): {self.message}"


def has_ai_disclosure(description: str) -> bool:
    """True when one line of the description names AI and says it helped make the listing."""
    return any(_AI_TERM.search(line) and _DISCLOSURE_VERB.search(line) for line in description.splitlines())


_ASCII_OK: Final[dict[Callable[[str], bool], re.Pattern[str]]] = {
    check: ascii_fast_path(check) for check in (is_title_char, is_tag_char, is_material_char)
}


def _bad_chars(text: str, allowed: Callable[[str], bool]) -> list[str]:
    fast = _ASCII_OK.get(allowed)
    if fast is not None and fast.fullmatch(text):
        return []
    seen: list[str] = []
    for char in text:
        if not char.isspace() and not allowed(char) and char not in seen:
            seen.append(char)
    return seen


def _quote(chars: list[str]) -> str:
    return " ".join(repr(char) for char in chars)


def _validate_title(title: str) -> list[Violation]:
    if not title.strip():
        return [Violation(code="title_empty", field="title", message="the title is empty; write one")]
    found: list[Violation] = []
    if title != normalize_whitespace(title):
        found.append(
            Violation(
                code="whitespace",
                field="title",
                message="leading, trailing, repeated or non-space whitespace; use single spaces",
            )
        )
    if len(title) > TITLE_MAX_CHARS:
        found.append(
            Violation(
                code="title_too_long",
                field="title",
                message=f"{len(title)} characters; at most {TITLE_MAX_CHARS} are allowed",
            )
        )
    bad = _bad_chars(title, is_title_char)
    if bad:
        found.append(
            Violation(
                code="title_bad_chars",
                field="title",
                message=f"characters not allowed in a title: {_quote(bad)} (no emoji, $, ^ or `)",
            )
        )
    for symbol in TITLE_ONCE_SYMBOLS:
        count = title.count(symbol)
        if count > 1:
            found.append(
                Violation(
                    code="title_repeated_symbol",
                    field="title",
                    message=f"{symbol!r} appears {count} times; it may appear at most once",
                )
            )
    return found


def _validate_tags(tags: list[str]) -> list[Violation]:
    found: list[Violation] = []
    if len(tags) != TAG_COUNT:
        found.append(
            Violation(
                code="tags_count",
                field="tags",
                message=f"{len(tags)} tags; exactly {TAG_COUNT} distinct tags are required",
            )
        )
    exact: dict[str, str] = {}  # casefolded tag -> the tag as first seen
    stems = StemIndex()
    for index, tag in enumerate(tags):
        field = f"tags[{index}]"
        if not tag.strip():
            found.append(Violation(code="tag_empty", field=field, message="the tag is empty"))
            continue
        normalized = normalize_whitespace(tag)
        if tag != normalized:
            found.append(
                Violation(
                    code="whitespace",
                    field=field,
                    message=f"{tag!r} has leading, trailing or repeated whitespace",
                )
            )
        if len(tag) > TAG_MAX_CHARS:
            found.append(
                Violation(
                    code="tag_too_long",
                    field=field,
                    message=f"{tag!r} is {len(tag)} characters; at most {TAG_MAX_CHARS} are allowed",
                )
            )
        bad = _bad_chars(tag, is_tag_char)
        if bad:
            found.append(
                Violation(
                    code="tag_bad_chars",
                    field=field,
                    message=(
                        f"{tag!r} contains {_quote(bad)}; only letters, digits, spaces, - and ' are allowed"
                    ),
                )
            )
        key = normalized.casefold()
        duplicate_of = exact.get(key)
        if duplicate_of is not None:
            found.append(
                Violation(
                    code="tag_duplicate",
                    field=field,
                    message=f"{tag!r} repeats {duplicate_of!r} (tags compare case-insensitively)",
                )
            )
            continue
        signature = plural_signature(key)
        plural_of = stems.find(signature)
        if plural_of is not None:
            found.append(
                Violation(
                    code="tag_plural_duplicate",
                    field=field,
                    message=f"{tag!r} is a singular/plural variant of {plural_of!r}; keep only one",
                )
            )
            continue
        exact[key] = normalized
        stems.add(signature, normalized)
    return found


def _validate_word_list(values: list[str], name: str, *, check_chars: bool) -> list[Violation]:
    found: list[Violation] = []
    for index, value in enumerate(values):
        field = f"{name}[{index}]"
        if not value.strip():
            found.append(Violation(code=f"{name}_empty", field=field, message="the value is empty"))
            continue
        if value != normalize_whitespace(value):
            found.append(
                Violation(
                    code="whitespace",
                    field=field,
                    message=f"{value!r} has leading, trailing or repeated whitespace",
                )
            )
        bad = _bad_chars(value, is_material_char) if check_chars else []
        if bad:
            found.append(
                Violation(
                    code=f"{name}_bad_chars",
                    field=field,
                    message=f"{value!r} contains {_quote(bad)}; only letters, digits and spaces are allowed",
                )
            )
    return found


def validate(concept: ProductConcept) -> list[Violation]:
    """Every rule the concept breaks, in field order; an empty list means the concept is listing-ready."""
    found = _validate_title(concept.title)
    found += _validate_tags(concept.tags)
    found += _validate_word_list(concept.materials, "materials", check_chars=True)
    found += _validate_word_list(concept.styles, "styles", check_chars=False)
    if len(concept.styles) > STYLES_MAX:
        found.append(
            Violation(
                code="styles_too_many",
                field="styles",
                message=f"{len(concept.styles)} styles; at most {STYLES_MAX} are allowed",
            )
        )
    if concept.who_made not in WHO_MADE_VALUES:
        found.append(
            Violation(
                code="who_made_invalid",
                field="who_made",
                message=f"{concept.who_made!r} is not one of {', '.join(WHO_MADE_VALUES)}",
            )
        )
    if concept.when_made not in WHEN_MADE_VALUES:
        found.append(
            Violation(
                code="when_made_invalid",
                field="when_made",
                message=f"{concept.when_made!r} is not one of {', '.join(WHEN_MADE_VALUES)}",
            )
        )
    if not concept.description.strip():
        found.append(
            Violation(code="description_empty", field="description", message="the description is empty")
        )
    elif not has_ai_disclosure(concept.description):
        found.append(
            Violation(
                code="ai_disclosure_missing",
                field="description",
                message=(
                    "add a line disclosing that AI helped create the listing, for example: "
                    f"{AI_DISCLOSURE_LINE!r}"
                ),
            )
        )
    return found


# --- repairs ---------------------------------------------------------------------------------------------


def _strip_chars(text: str, allowed: Callable[[str], bool]) -> str:
    fast = _ASCII_OK.get(allowed)
    if fast is not None and fast.fullmatch(text):
        return text
    return "".join(char for char in text if char.isspace() or allowed(char))


def _keep_first(text: str, symbol: str) -> str:
    first = text.find(symbol)
    if first < 0:
        return text
    return text[: first + 1] + text[first + 1 :].replace(symbol, " ")


def repair_title(title: str) -> tuple[str, list[str]]:
    """The title with safe fixes applied, and a note per fix."""
    notes: list[str] = []
    text = _strip_chars(title, is_title_char)
    if text != title:
        notes.append(f"title: removed disallowed characters {_quote(_bad_chars(title, is_title_char))}")
    for symbol in TITLE_ONCE_SYMBOLS:
        if text.count(symbol) > 1:
            text = _keep_first(text, symbol)
            notes.append(f"title: kept only the first {symbol!r}")
    normalized = normalize_whitespace(text)
    if normalized != text and text.strip():
        notes.append("title: normalised whitespace")
    text = normalized
    if len(text) > TITLE_MAX_CHARS:
        cut = truncate_at_word(text, TITLE_MAX_CHARS)
        if cut:
            notes.append(f"title: cut from {len(text)} to {len(cut)} characters at a word boundary")
            text = cut
    return text, notes


def repair_tag(tag: str) -> str | None:
    """One tag cleaned (characters, whitespace, length); ``None`` when nothing usable is left."""
    text = normalize_whitespace(_strip_chars(tag, is_tag_char))
    if len(text) > TAG_MAX_CHARS:
        cut = truncate_at_word(text, TAG_MAX_CHARS)
        if cut is None:
            return text  # a single over-long word: leave it for the provider to replace
        text = cut.rstrip(" -'")
    return text or None


def repair_tags(tags: list[str]) -> tuple[list[str], list[str]]:
    """Tags cleaned one by one, then empties, duplicates, plural duplicates and surplus dropped."""
    notes: list[str] = []
    kept: list[str] = []
    exact: dict[str, str] = {}
    stems = StemIndex()
    for tag in tags:
        cleaned = repair_tag(tag)
        if cleaned is None:
            notes.append(f"tags: dropped {tag!r} (nothing allowed left)")
            continue
        if cleaned != tag:
            notes.append(f"tags: {tag!r} -> {cleaned!r}")
        key = cleaned.casefold()
        duplicate_of = exact.get(key)
        if duplicate_of is not None:
            notes.append(f"tags: dropped {cleaned!r}, a duplicate of {duplicate_of!r}")
            continue
        signature = plural_signature(key)
        plural_of = stems.find(signature)
        if plural_of is not None:
            notes.append(f"tags: dropped {cleaned!r}, a plural duplicate of {plural_of!r}")
            continue
        kept.append(cleaned)
        exact[key] = cleaned
        stems.add(signature, cleaned)
    if len(kept) > TAG_COUNT:
        notes.append(f"tags: dropped {len(kept) - TAG_COUNT} tags beyond {TAG_COUNT}: {kept[TAG_COUNT:]!r}")
        kept = kept[:TAG_COUNT]
    return kept, notes


def _repair_word_list(values: list[str], name: str, *, strip_chars: bool) -> tuple[list[str], list[str]]:
    notes: list[str] = []
    kept: list[str] = []
    for value in values:
        cleaned = _strip_chars(value, is_material_char) if strip_chars else value
        cleaned = normalize_whitespace(cleaned)
        if not cleaned:
            notes.append(f"{name}: dropped {value!r} (nothing allowed left)")
            continue
        if cleaned != value:
            notes.append(f"{name}: {value!r} -> {cleaned!r}")
        kept.append(cleaned)
    return kept, notes


def repair(concept: ProductConcept) -> tuple[ProductConcept, list[str]]:
    """Apply only safe, content-preserving fixes; return the concept and a note per fix.

    Safe means nothing is invented: whitespace is trimmed, disallowed characters removed, repeated
    ``% : & +`` dropped after their first use, over-long title and tags cut at a word boundary, duplicate
    and plural-duplicate tags dropped, tags beyond 13 and styles beyond 2 dropped. An empty title, too few
    tags, a missing AI disclosure or an unknown who_made/when_made are left for the provider to fix.
    """
    title, notes = repair_title(concept.title)
    tags, tag_notes = repair_tags(concept.tags)
    materials, material_notes = _repair_word_list(concept.materials, "materials", strip_chars=True)
    styles, style_notes = _repair_word_list(concept.styles, "styles", strip_chars=False)
    notes += tag_notes + material_notes + style_notes
    if len(styles) > STYLES_MAX:
        notes.append(f"styles: kept the first {STYLES_MAX} of {len(styles)}")
        styles = styles[:STYLES_MAX]
    if not notes:
        return concept, []
    repaired = msgspec.structs.replace(concept, title=title, tags=tags, materials=materials, styles=styles)
    return repaired, notes
