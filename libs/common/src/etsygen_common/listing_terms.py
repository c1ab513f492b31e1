"""Words listings use to say what a product is made of, who it is for and how it is delivered.

One source for both sides: the analyzer counts these terms in a niche's titles and tags
(:class:`~etsygen_common.contracts.trends.NicheEvidence`), and the generator checks a concept's claims
against the same terms (an occasion in a title is only supported if the niche's listings name it too).

Each vocabulary maps a canonical term to the phrases that name it. Matching is on whole words of folded text
("Mother's Day" matches "mothers day gift", "gold" does not match "marigold"). Pure data and string
functions; no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from functools import lru_cache
from typing import Final

Vocabulary = Mapping[str, tuple[str, ...]]
"""Canonical term -> the phrases (lower case, single spaces) that name it."""

MATERIALS: Final[Vocabulary] = {
    "cotton": ("cotton",),
    "organic cotton": ("organic cotton",),
    "linen": ("linen",),
    "wool": ("wool", "woolen", "woollen"),
    "merino wool": ("merino", "merino wool"),
    "alpaca": ("alpaca",),
    "yarn": ("yarn",),
    "silk": ("silk",),
    "velvet": ("velvet",),
    "felt": ("felt",),
    "leather": ("leather",),
    "full grain leather": ("full grain", "full grain leather"),
    "canvas": ("canvas",),
    "polyester": ("polyester",),
    "brass": ("brass",),
    "copper": ("copper",),
    "silver": ("silver",),
    "sterling silver": ("sterling silver", "925 silver"),
    "gold": ("gold",),
    "14k gold": ("14k gold", "14k"),
    "gold filled": ("gold filled",),
    "stainless steel": ("stainless steel", "stainless"),
    "pewter": ("pewter",),
    "ceramic": ("ceramic", "ceramics"),
    "stoneware": ("stoneware",),
    "porcelain": ("porcelain",),
    "clay": ("clay",),
    "polymer clay": ("polymer clay",),
    "glass": ("glass",),
    "stained glass": ("stained glass",),
    "resin": ("resin",),
    "epoxy resin": ("epoxy", "epoxy resin"),
    "wood": ("wood", "wooden"),
    "walnut": ("walnut",),
    "oak": ("oak",),
    "maple": ("maple",),
    "bamboo": ("bamboo",),
    "soy wax": ("soy wax", "soy"),
    "beeswax": ("beeswax",),
    "coconut wax": ("coconut wax",),
    "wood wick": ("wood wick", "wooden wick"),
    "cotton rope": ("cotton rope", "macrame cord"),
    "jute": ("jute",),
    "rattan": ("rattan",),
    "paper": ("paper",),
    "cardstock": ("cardstock",),
    "vinyl": ("vinyl",),
    "acrylic": ("acrylic",),
    "pearl": ("pearl", "pearls"),
    "gemstone": ("gemstone", "gemstones"),
    "crystal": ("crystal", "crystals"),
    "marble": ("marble",),
    "agate": ("agate",),
    "gold leaf": ("gold leaf",),
    "dried flowers": ("dried flowers", "real flowers", "pressed flowers"),
}

OCCASIONS: Final[Vocabulary] = {
    "birthday": ("birthday", "bday", "birth month"),
    "christmas": ("christmas", "xmas", "stocking stuffer"),
    "anniversary": ("anniversary",),
    "wedding": ("wedding",),
    "engagement": ("engagement",),
    "proposal": ("proposal",),
    "mother's day": ("mother's day", "mothers day"),
    "father's day": ("father's day", "fathers day"),
    "valentine's day": ("valentine", "valentines", "valentine's", "valentine's day", "valentines day"),
    "housewarming": ("housewarming", "new home"),
    "baby shower": ("baby shower",),
    "bridal shower": ("bridal shower",),
    "graduation": ("graduation",),
    "retirement": ("retirement",),
    "thank you": ("thank you", "appreciation"),
    "end of year": ("end of year",),
    "halloween": ("halloween",),
    "easter": ("easter",),
    "memorial": ("memorial", "sympathy", "in memory", "pet loss"),
    "bachelorette": ("bachelorette",),
}

RECIPIENTS: Final[Vocabulary] = {
    "her": ("for her", "women", "womens", "women's", "woman", "ladies"),
    "him": ("for him", "men", "mens", "men's", "man"),
    "mom": ("mom", "mum", "mother", "mama", "mommy"),
    "dad": ("dad", "father", "papa", "daddy"),
    "grandma": ("grandma", "grandmother", "nana"),
    "grandpa": ("grandpa", "grandfather"),
    "wife": ("wife",),
    "husband": ("husband",),
    "boyfriend": ("boyfriend",),
    "girlfriend": ("girlfriend",),
    "teacher": ("teacher", "teachers"),
    "bridesmaid": ("bridesmaid", "bridesmaids", "maid of honor", "bridal party"),
    "bride": ("bride", "bride to be"),
    "groom": ("groom", "groomsman", "groomsmen"),
    "best friend": ("best friend", "bff"),
    "friend": ("friend", "friends"),
    "sister": ("sister",),
    "brother": ("brother",),
    "kids": ("kids", "kid", "children", "child", "toddler", "toddlers"),
    "baby": ("baby", "newborn", "infant"),
    "dog lover": ("dog lover", "dog lovers", "dog mom", "dog dad"),
    "cat lover": ("cat lover", "cat lovers", "cat mom", "cat dad"),
    "couple": ("couple", "couples"),
    "coworker": ("coworker", "coworkers"),
}

DIGITAL_MARKERS: Final[tuple[str, ...]] = (
    "printable",
    "digital download",
    "instant download",
    "digital file",
    "digital files",
    "digital planner",
    "digital art",
    "download",
    "pdf",
    "pdf pattern",
    "svg",
    "png",
    "jpg",
    "goodnotes",
    "notability",
    "cut file",
    "cut files",
    "hyperlinked",
    "editable template",
)
"""Phrases that mark a listing as a digital download (a file, not a shipped item)."""

PERSONALIZATION_MARKERS: Final[tuple[str, ...]] = (
    "personalized",
    "personalised",
    "personalization",
    "custom",
    "customized",
    "custom name",
    "engraved",
    "monogram",
    "monogrammed",
    "name",
    "initial",
    "initials",
)
"""Phrases that mark a listing as personalized to the buyer's order."""

FILE_FORMATS: Final[tuple[str, ...]] = ("pdf", "png", "svg", "jpg", "dxf", "eps")

_SIZE_PATTERNS: Final = (
    re.compile(r"(?<![\w.])\d+(?:\.\d+)?\s?[x\u00d7]\s?\d+(?:\.\d+)?(?:\s?(?:in|inch|inches|cm|mm))?(?!\w)"),
    re.compile(r"(?<![\w.])\d+(?:\.\d+)?\s?(?:oz|ml|inch|inches|in|cm|mm|ft)(?!\w)"),
    re.compile(r"(?<!\w)set of \d+(?!\w)"),
    re.compile(r"(?<!\w)(?:a[3-6]|letter size)(?!\w)"),
)
_WORD: Final = re.compile(r"[^\W_]+(?:'[^\W_]+)*")


@lru_cache(maxsize=16_384)
def fold_words(text: str) -> str:
    """Lower-cased, accent-free words of ``text``, single-spaced ("Mother's Day!" -> "mother's day")."""
    text = text.replace("\u2019", "'")
    if not text.isascii():
        decomposed = unicodedata.normalize("NFKD", text.casefold())
        text = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(_WORD.findall(text.lower()))


class _PhraseIndex:
    """Phrases of a vocabulary by their words, so a text is read once whatever the vocabulary's size."""

    __slots__ = ("first_words", "longest", "phrases", "terms")

    def __init__(self, vocabulary: Vocabulary) -> None:
        self.terms = tuple(vocabulary)
        self.phrases: dict[tuple[str, ...], list[int]] = {}
        for position, phrases in enumerate(vocabulary.values()):
            for phrase in phrases:
                self.phrases.setdefault(tuple(phrase.split()), []).append(position)
        self.longest = max((len(words) for words in self.phrases), default=0)
        self.first_words = frozenset(words[0] for words in self.phrases if words)

    def positions(self, words: list[str]) -> set[int]:
        """Which entries (by position) the words name, as whole-word runs."""
        found: set[int] = set()
        phrases, longest, first_words = self.phrases, self.longest, self.first_words
        for start in range(len(words)):
            if words[start] not in first_words:  # most words begin no phrase of the vocabulary
                continue
            for end in range(start + 1, min(start + longest, len(words)) + 1):
                hit = phrases.get(tuple(words[start:end]))
                if hit is not None:
                    found.update(hit)
        return found


_INDEXES: dict[int, tuple[object, _PhraseIndex]] = {}


def _index(vocabulary: Vocabulary | tuple[str, ...]) -> _PhraseIndex:
    known = _INDEXES.get(id(vocabulary))
    if known is not None and known[0] is vocabulary:
        return known[1]
    entries = {phrase: (phrase,) for phrase in vocabulary} if isinstance(vocabulary, tuple) else vocabulary
    index = _PhraseIndex(entries)
    _INDEXES[id(vocabulary)] = (vocabulary, index)  # the object is kept, so its id is not reused
    return index


def has_phrase(text: str, phrases: tuple[str, ...]) -> bool:
    """True when ``text`` contains one of ``phrases`` as whole words (case- and accent-insensitive)."""
    return bool(_index(phrases).positions(fold_words(text).split()))


def find_terms(text: str, vocabulary: Vocabulary) -> list[str]:
    """The canonical terms of ``vocabulary`` that ``text`` names, in vocabulary order."""
    index = _index(vocabulary)
    return list(_found(fold_words(text), index))


@lru_cache(maxsize=16_384)
def _found(folded: str, index: _PhraseIndex) -> tuple[str, ...]:
    positions = index.positions(folded.split())
    return (
        tuple(term for position, term in enumerate(index.terms) if position in positions) if positions else ()
    )


def find_sizes(text: str) -> list[str]:
    """Sizes, quantities and file formats ``text`` names ("8x10", "11oz", "set of 4", "pdf"), in order."""
    lowered = text.lower().replace("\u00d7", "x")
    found: list[str] = []
    taken: list[range] = []  # "8 x 10 in" is one size, not also "10 in"
    for index, pattern in enumerate(_SIZE_PATTERNS):
        for match in pattern.finditer(lowered):
            if any(match.start() in span for span in taken):
                continue
            taken.append(range(match.start(), match.end()))
            joiner = "" if index == 0 else " "
            found.append(joiner.join(match.group(0).split()))
    words = set(fold_words(text).split())
    found += [fmt for fmt in FILE_FORMATS if fmt in words]
    return list(dict.fromkeys(found))
