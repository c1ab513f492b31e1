"""Small text helpers shared by the validator, the composer and the guards.

Pure string functions; no I/O. Character classes follow Etsy's listing rules, which are written in terms of
Unicode categories (letters, decimal digits, punctuation, maths symbols, space separators).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache

# Combining marks are allowed wherever letters are: Devanagari vowel signs or a decomposed "é" are part of
# the letter a reader sees, and rejecting them would make non-Latin listings impossible.
_LETTER_CATEGORIES = ("L", "M")


def normalize_whitespace(text: str) -> str:
    """Trim and collapse every run of whitespace (tabs, newlines, no-break spaces) to one ASCII space."""
    return " ".join(text.split())


@lru_cache(maxsize=8192)
def is_letter_or_digit(char: str) -> bool:
    """True for a Unicode letter, combining mark or decimal digit."""
    category = unicodedata.category(char)
    return category.startswith(_LETTER_CATEGORIES) or category == "Nd"


@lru_cache(maxsize=8192)
def is_tag_char(char: str) -> bool:
    """Characters Etsy accepts in a tag: letters, digits, spaces, hyphens and apostrophes."""
    return char in " -'" or is_letter_or_digit(char)


@lru_cache(maxsize=8192)
def is_material_char(char: str) -> bool:
    """Characters Etsy accepts in a material: letters, digits and spaces."""
    return char == " " or is_letter_or_digit(char)


@lru_cache(maxsize=8192)
def is_title_char(char: str) -> bool:
    """Characters Etsy accepts in a title: letters, digits, punctuation, maths symbols, spaces, ™ © ®."""
    if char in "™©®" or is_letter_or_digit(char):
        return True
    category = unicodedata.category(char)
    return category.startswith("P") or category in {"Sm", "Zs"}


def ascii_fast_path(allowed: Callable[[str], bool]) -> re.Pattern[str]:
    """A regex matching text made only of printable ASCII characters ``allowed`` accepts (plus whitespace).

    Lets the validators skip the per-character Unicode lookup for the common all-ASCII case.
    """
    chars = "".join(char for char in map(chr, range(32, 127)) if allowed(char))
    return re.compile(f"[{re.escape(chars)}\\s]*")


def truncate_at_word(text: str, limit: int) -> str | None:
    """Cut ``text`` to at most ``limit`` characters at a word boundary.

    Returns ``None`` when the first word alone is longer than the limit: cutting inside a word would produce
    a fragment no shopper searches for, so that is not a safe repair.
    """
    if len(text) <= limit:
        return text
    head = text[: limit + 1]
    cut = head.rfind(" ")
    if cut <= 0:
        return None
    return text[:cut].rstrip(" -|,/;:&+").rstrip()


@lru_cache(maxsize=65536)
def _singular_forms(word: str) -> frozenset[str]:
    """The word and every singular it could be the plural of ("berries" → berrie, berry; "boxes" → box)."""
    forms = {word}
    if len(word) > 2 and word.endswith("s"):
        forms.add(word[:-1])
        if word.endswith("es"):
            forms.add(word[:-2])
        if word.endswith("ies"):
            forms.add(word[:-3] + "y")
    return frozenset(forms)


PluralSignature = tuple[frozenset[str], ...]


def plural_signature(tag: str) -> PluralSignature:
    """Per word of ``tag`` (casefolded), the forms it could be a plural of; compare with :func:`same_stem`."""
    return tuple(_singular_forms(word) for word in tag.casefold().split())


def same_stem(first: PluralSignature, second: PluralSignature) -> bool:
    """True when two signatures match word by word up to plural endings (or are identical)."""
    return len(first) == len(second) and all(a & b for a, b in zip(first, second, strict=True))


class StemIndex:
    """Tags seen so far, indexed so a plural duplicate of a new tag is found without comparing every pair.

    Entries are keyed by word count and each form of their first word; a lookup only compares the few
    entries that share one of those keys.
    """

    def __init__(self) -> None:
        self._buckets: dict[tuple[int, str], list[tuple[PluralSignature, str]]] = {}

    def find(self, signature: PluralSignature) -> str | None:
        """The label of the first added tag that :func:`same_stem` matches, if any."""
        if not signature:
            return None
        size = len(signature)
        for form in signature[0]:
            for other, label in self._buckets.get((size, form), ()):
                if all(not a.isdisjoint(b) for a, b in zip(other[1:], signature[1:], strict=True)):
                    return label
        return None

    def add(self, signature: PluralSignature, label: str) -> None:
        """Remember a tag under ``label`` (what :meth:`find` returns for it)."""
        if not signature:
            return
        for form in signature[0]:
            self._buckets.setdefault((len(signature), form), []).append((signature, label))


def is_plural_duplicate(first: str, second: str) -> bool:
    """True when two tags differ only by English plural endings, word by word ("mug"/"mugs").

    Case-insensitive. Identical tags are plain duplicates, not plural ones, so they return False.
    """
    if first.casefold().split() == second.casefold().split():
        return False
    return same_stem(plural_signature(first), plural_signature(second))


def singular_word(word: str) -> str:
    """A crude singular used as a comparison key for similarity ("berries" → "berry", "mugs" → "mug")."""
    if len(word) <= 3 or not word.endswith("s") or word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "xes", "zes", "sses")):
        return word[:-2]
    return word[:-1]


def fold(text: str) -> str:
    """Casefold and strip accents, for matching ("Pokémon" and "pokemon" fold alike)."""
    if text.isascii():  # nothing to decompose; lower() is casefold() for ASCII
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    """Folded word tokens of ``text``."""
    return _WORD.findall(fold(text))
