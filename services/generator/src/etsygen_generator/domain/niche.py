"""What a concept may say about a niche: the item, its kind, materials and the claims its evidence supports.

:class:`NicheBrief` is the niche as every provider receives it (keyword, top tags and phrases, price band,
and the analyzer's :class:`~etsygen_common.contracts.trends.NicheEvidence` when there is one).
:func:`read_niche` turns it into :class:`NicheFacts`, the one reading the composer and the grader share: what
the item is called, whether it is a physical item or a digital download, which materials, occasions and
recipients enough of the niche's listings name, and which search phrases matter. Pure; no I/O.
"""

from __future__ import annotations

from typing import Final, Literal

import msgspec

from etsygen_common.contracts.trends import NicheEvidence, PriceBand, Risk, TermCount, TrendScored
from etsygen_common.listing_terms import (
    DIGITAL_MARKERS,
    MATERIALS,
    OCCASIONS,
    PERSONALIZATION_MARKERS,
    RECIPIENTS,
    find_terms,
    fold_words,
    has_phrase,
)

ProductKind = Literal["physical", "digital"]

SUPPORT_SHARE: Final = 0.25
"""Share of the niche's listings that must name an occasion, recipient or material to be claimed."""
DIGITAL_SHARE: Final = 0.5
"""Share of listings reading as digital downloads above which the niche's product is a file, not an item."""
SIZE_SHARE: Final = 0.1
"""Share of listings naming a size or format for it to be worth repeating in the description."""
PHRASE_LIMIT: Final = 12

# Adjectives sellers put in front of any product; tags made of one of these and a noun say nothing about the
# niche, so they come after its own phrases (and only two of them are kept).
GENERIC_ADJECTIVES: Final = frozenset(
    {"handmade", "personalized", "personalised", "custom", "minimalist", "minimal", "rustic", "modern"}
    | {"dainty", "unique", "cute", "elegant", "bohemian", "classic", "beautiful", "perfect", "best"}
)
MINOR_WORDS: Final = frozenset(
    {"a", "an", "and", "as", "at", "by", "for", "from", "in", "of", "on", "or", "the", "to", "with", "your"}
)
DANGLING_WORDS: Final = MINOR_WORDS | frozenset(
    {"be", "is", "are", "will", "my", "our", "this", "that", "these", "very", "so", "up"}
)
"""Words a title part cannot end on: it was cut before its noun ("Will You Be", "Gift for")."""

# Product words -> materials, for niches without evidence; only common, unambiguous product types.
_MATERIALS_BY_PRODUCT: Final[dict[str, tuple[str, ...]]] = {
    "mug": ("ceramic",),
    "mugs": ("ceramic",),
    "tumbler": ("stainless steel",),
    "shirt": ("cotton",),
    "tshirt": ("cotton",),
    "tee": ("cotton",),
    "hoodie": ("cotton", "polyester"),
    "sweatshirt": ("cotton", "polyester"),
    "tote": ("cotton canvas",),
    "candle": ("soy wax", "cotton wick"),
    "candles": ("soy wax", "cotton wick"),
    "poster": ("paper",),
    "sticker": ("vinyl",),
    "stickers": ("vinyl",),
    "decal": ("vinyl",),
}

# Keyword words that name who the item is for; a keyword ending in one reads better as "... for Men".
_TRAILING_RECIPIENTS: Final = frozenset(
    {"men", "mens", "women", "womens", "kids", "him", "her", "mom", "dad", "baby", "girls", "boys"}
)


class NicheBrief(msgspec.Struct, frozen=True, kw_only=True):
    """What a concept is composed from: the parts of a :class:`TrendScored` that describe the niche."""

    keyword: str
    top_tags: list[str] = msgspec.field(default_factory=list)
    top_title_phrases: list[str] = msgspec.field(default_factory=list)
    price_band: PriceBand | None = None
    score: float = 0.0
    risk: Risk = "high"
    evidence: NicheEvidence | None = None

    @classmethod
    def from_trend(cls, trend: TrendScored) -> NicheBrief:
        """The niche part of a scored trend."""
        return cls(
            keyword=trend.keyword,
            top_tags=list(trend.top_tags),
            top_title_phrases=list(trend.top_title_phrases),
            price_band=trend.price_band,
            score=trend.score,
            risk=trend.risk,
            evidence=trend.evidence,
        )


class NicheFacts(msgspec.Struct, frozen=True, kw_only=True):
    """One reading of a niche that the composer and the grader share."""

    keyword: str
    """The keyword, folded to plain words."""
    item: str
    """What the item is, in lower case words ("leather wallet for men", "2026 digital planner")."""
    head: str
    """The item's head noun ("wallet", "planner"): a title must name it early."""
    kind: ProductKind
    materials: list[str]
    occasions: list[str]
    recipients: list[str]
    personalized: bool
    sizes: list[str]
    phrases: list[str]
    """The niche's own search phrases without unsupported occasions or recipients: up to 12 specific ones
    (those naming the item first, then by use), then the "<adjective> <noun>" ones."""
    vocabulary: frozenset[str]
    """Every word the niche uses (keyword, tags, phrases): a title word outside it may be a cut fragment."""
    known_phrases: frozenset[str]
    """Every phrase the niche's listings use (folded): a title part that is one was not cut."""
    missing: list[str]
    """What the evidence did not say, in words (the grade reports these)."""


def _share(count: int, evidence: NicheEvidence) -> float:
    return count / evidence.listings if evidence.listings else 0.0


def _supported(terms: list[TermCount], evidence: NicheEvidence, share: float) -> list[str]:
    return [term.term for term in terms if term.listings >= 2 and _share(term.listings, evidence) >= share]


def _item_words(keyword_words: list[str]) -> list[str]:
    words = list(dict.fromkeys(keyword_words))  # "cat mug cat mug" names one cat mug
    if len(words) > 1 and words[-1].isdigit():  # "digital planner 2026" -> "2026 digital planner"
        words = [words[-1], *words[:-1]]
    while words and words[-1] in DANGLING_WORDS:  # "gift for" names no item
        words.pop()
    while words and words[0] in DANGLING_WORDS:  # nor does "for cat" lead with one
        words.pop(0)
    if len(words) > 1 and words[-1] in _TRAILING_RECIPIENTS:  # "leather wallet men" -> "... for men"
        words = [*words[:-1], "for", words[-1]]
    return words


def _head(item_words: list[str]) -> str:
    core = item_words[: item_words.index("for")] if "for" in item_words else item_words
    nouns = [word for word in core if not word.isdigit()]
    return nouns[-1] if nouns else (core[-1] if core else "")


def _niche_texts(niche: NicheBrief) -> list[str]:
    return [niche.keyword, *niche.top_tags]


def _claims_without_evidence(niche: NicheBrief) -> tuple[list[str], list[str], list[str], bool, bool]:
    texts = _niche_texts(niche)
    occasions = list(dict.fromkeys(term for text in texts for term in find_terms(text, OCCASIONS)))
    recipients = list(dict.fromkeys(term for text in texts for term in find_terms(text, RECIPIENTS)))
    materials = list(dict.fromkeys(term for text in texts for term in find_terms(text, MATERIALS)))
    if not materials:
        for word in fold_words(" ".join(texts)).split():
            if word in _MATERIALS_BY_PRODUCT:
                materials = list(_MATERIALS_BY_PRODUCT[word])
                break
    digital = has_phrase(niche.keyword, DIGITAL_MARKERS) or (
        sum(has_phrase(tag, DIGITAL_MARKERS) for tag in niche.top_tags) >= 2
    )
    personalized = has_phrase(niche.keyword, PERSONALIZATION_MARKERS)
    return occasions, recipients, materials, digital, personalized


def _without_overlaps(materials: list[str]) -> list[str]:
    """One name per material, the more specific kept ("merino wool", not also "wool")."""
    kept: list[str] = []
    for material in materials:
        if any(f" {material} " in f" {other} " for other in kept):
            continue
        kept = [other for other in kept if f" {other} " not in f" {material} "] + [material]
    return kept


_READ: list[tuple[NicheBrief, NicheFacts]] = []
"""The last briefs read, by identity: composing and grading one concept read the same brief several times."""
_READ_KEPT = 8


def read_niche(niche: NicheBrief) -> NicheFacts:
    """What the niche's data supports, from its evidence when there is one, else from its tags alone.

    Pure; the facts of the last few briefs are remembered by identity (briefs are frozen).
    """
    for known, facts in _READ:
        if known is niche:
            return facts
    facts = _read_niche(niche)
    _READ.insert(0, (niche, facts))
    del _READ[_READ_KEPT:]
    return facts


def _read_niche(niche: NicheBrief) -> NicheFacts:
    keyword = fold_words(niche.keyword)
    item_words = _item_words(keyword.split())
    evidence = niche.evidence
    missing: list[str] = []
    if evidence is None or evidence.listings == 0:
        occasions, recipients, materials, digital, personalized = _claims_without_evidence(niche)
        sizes: list[str] = []
        phrases = [fold_words(tag) for tag in niche.top_tags]
        missing.append(
            "no listing evidence for this niche: materials, occasions and recipients were judged from the "
            "keyword and top tags alone, and no size or format was known"
        )
    else:
        occasions = _supported(evidence.occasions, evidence, SUPPORT_SHARE)
        recipients = _supported(evidence.recipients, evidence, SUPPORT_SHARE)
        materials = _supported(evidence.materials, evidence, SUPPORT_SHARE)
        digital = _share(evidence.digital_listings, evidence) >= DIGITAL_SHARE
        personalized = _share(evidence.personalized_listings, evidence) >= SUPPORT_SHARE
        sizes = _supported(evidence.sizes, evidence, SIZE_SHARE)
        phrases = [term.term for term in evidence.phrases] or [fold_words(tag) for tag in niche.top_tags]
        if not materials and not digital:
            missing.append("the niche's listings name no material")
        if not sizes:
            missing.append("the niche's listings name no size or format")
    claims = set(occasions) | set(recipients)
    honest = [
        phrase
        for phrase in dict.fromkeys(phrases)
        if phrase
        and all(term in claims for term in find_terms(phrase, OCCASIONS) + find_terms(phrase, RECIPIENTS))
    ]
    head = _head(item_words)
    # The niche's own phrases first, those naming the item ("dog collar", "leather collar") before the rest
    # (stable, so use still orders each group); "<adjective> <noun>" phrases do not take their places.
    specific = sorted(
        (phrase for phrase in honest if not is_generic_phrase(phrase)), key=lambda p: head not in p.split()
    )
    phrases = specific[:PHRASE_LIMIT] + [phrase for phrase in honest if is_generic_phrase(phrase)]
    known = frozenset(
        fold_words(text) for text in [niche.keyword, *niche.top_tags, *niche.top_title_phrases, *phrases]
    )
    vocabulary = frozenset(word for phrase in known for word in phrase.split())
    return NicheFacts(
        keyword=keyword,
        item=" ".join(item_words),
        head=head,
        kind="digital" if digital else "physical",
        materials=[] if digital else _without_overlaps(materials),
        occasions=occasions,
        recipients=recipients,
        personalized=personalized,
        sizes=sizes,
        phrases=phrases,
        vocabulary=vocabulary,
        known_phrases=known,
        missing=missing,
    )


FILLER_TAILS: Final = frozenset({"idea", "ideas"})
"""Last words of filler tags sellers add to every listing ("book idea", "gift ideas"): they say nothing about
the item, so they never lead a title or fill a tag slot before the niche's real phrases."""
GIFT_WORDS: Final = frozenset({"gift", "gifts", "present"})


def is_generic_phrase(phrase: str) -> bool:
    """True for "<generic adjective> <word>" phrases ("custom collar", "rustic men"), lone adjectives,
    "<word> idea" filler ("book idea") and "<item> gift" filler ("collar gift"; "wedding gift" and
    "teacher gift" name an occasion or a recipient and are real search phrases)."""
    words = phrase.split()
    if not words or len(words) > 2:
        return False
    if words[0] in GENERIC_ADJECTIVES or words[-1] in FILLER_TAILS:
        return True
    return (
        len(words) == 2
        and words[-1] in GIFT_WORDS
        and not find_terms(words[0], OCCASIONS)
        and not find_terms(words[0], RECIPIENTS)
    )
