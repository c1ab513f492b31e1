"""The built-in provider's logic: compose a listing-ready concept from a niche's own signals, no network.

``compose`` builds a concept from the keyword, the niche's top tags and its strongest title phrases; its
output always passes :func:`~etsygen_generator.domain.validator.validate` (property-tested). It also holds
the pieces every provider shares: the price suggestion from the niche's price band and the design prompt.
"""

from __future__ import annotations

import math
from typing import Final

import msgspec

from etsygen_common.contracts.base import Money
from etsygen_common.contracts.products import DesignPrompt, PriceSuggestion, ProductConcept
from etsygen_common.contracts.trends import PriceBand, Risk, TrendScored
from etsygen_generator.domain.text import (
    StemIndex,
    normalize_whitespace,
    plural_signature,
    truncate_at_word,
    words,
)
from etsygen_generator.domain.validator import (
    AI_DISCLOSURE_LINE,
    STYLES_MAX,
    TAG_COUNT,
    TAG_MAX_CHARS,
    TITLE_MAX_CHARS,
    repair_tag,
    repair_title,
)

TITLE_SEPARATOR: Final = " | "
FALLBACK_TITLE: Final = "Unique Gift Idea"
ALT_TEXT_MAX_CHARS: Final = 250
DEFAULT_PRICE: Final = Money(amount=24.99, currency="USD")

# Generic but relevant fill-in tags, used only when the niche's own tags and keyword variants give fewer than
# 13. No two are duplicates or plural duplicates of each other, and there are more than 13 of them, so the
# composer always reaches 13 tags whatever the niche supplied.
GENERIC_TAGS: Final[tuple[str, ...]] = (
    "gift idea",
    "unique gift",
    "birthday gift",
    "gift for her",
    "gift for him",
    "gift for friend",
    "christmas gift",
    "anniversary gift",
    "housewarming gift",
    "thank you gift",
    "personalized gift",
    "custom gift",
    "handmade gift",
    "holiday present",
    "special occasion",
    "stocking stuffer",
    "just because",
    "keepsake",
    "made to order",
    "everyday favorite",
)

# Product words → materials. Only common, unambiguous product types; anything else gets no materials rather
# than a guess.
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
    "print": ("paper",),
    "printable": ("digital file",),
    "svg": ("digital file",),
    "png": ("digital file",),
    "download": ("digital file",),
    "sticker": ("vinyl",),
    "stickers": ("vinyl",),
    "decal": ("vinyl",),
    "sign": ("wood",),
}

# Style words a shopper uses → the Etsy style name.
_STYLES_BY_WORD: Final[dict[str, str]] = {
    "boho": "Boho",
    "bohemian": "Boho",
    "minimalist": "Minimalist",
    "minimal": "Minimalist",
    "vintage": "Vintage",
    "retro": "Retro",
    "rustic": "Rustic",
    "farmhouse": "Farmhouse",
    "modern": "Modern",
    "cottagecore": "Cottagecore",
    "kawaii": "Kawaii",
    "gothic": "Gothic",
    "goth": "Gothic",
    "scandinavian": "Scandinavian",
    "whimsical": "Whimsical",
    "coastal": "Coastal",
    "western": "Western",
    "preppy": "Preppy",
    "y2k": "Y2K",
}


class NicheBrief(msgspec.Struct, frozen=True, kw_only=True):
    """What a concept is composed from: the parts of a :class:`TrendScored` that describe the niche."""

    keyword: str
    top_tags: list[str] = msgspec.field(default_factory=list)
    top_title_phrases: list[str] = msgspec.field(default_factory=list)
    price_band: PriceBand | None = None
    score: float = 0.0
    risk: Risk = "high"

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
        )


def _rotate(items: list[str], by: int) -> list[str]:
    if not items:
        return items
    shift = by % len(items)
    return items[shift:] + items[:shift]


_MINOR_WORDS: Final = frozenset(
    {"a", "an", "and", "as", "at", "by", "for", "in", "of", "on", "or", "the", "to", "with"}
)


def _title_case(text: str) -> str:
    """Capitalise lower-case words (minor words after the first stay lower); mixed case is left alone."""
    cased = [
        word[:1].upper() + word[1:] if word.islower() and (index == 0 or word not in _MINOR_WORDS) else word
        for index, word in enumerate(text.split())
    ]
    return " ".join(cased)


def _title_part(text: str) -> str:
    cleaned, _ = repair_title(_title_case(text))
    if len(cleaned) > TITLE_MAX_CHARS:  # one enormous word: composing, not repairing, so a hard cut is fine
        cleaned = cleaned[:TITLE_MAX_CHARS]
    return cleaned


def compose_title(niche: TrendScored | NicheBrief, *, variant: int = 0) -> str:
    """Strongest title phrase first, then the keyword, then further phrases while they fit in 140 chars."""
    phrases = _rotate(list(niche.top_title_phrases), variant)
    candidates = [*phrases[:1], niche.keyword, *phrases[1:]]
    title = ""
    for candidate in candidates:
        part = _title_part(candidate)
        if not part or part.casefold() in title.casefold():
            continue
        joined = f"{title}{TITLE_SEPARATOR}{part}" if title else part
        if len(joined) <= TITLE_MAX_CHARS:
            title = joined
    # Symbols allowed once each (% : & +) may now repeat across parts; keep the first of each.
    title, _ = repair_title(title)
    return title or FALLBACK_TITLE


def _keyword_tags(keyword: str) -> list[str]:
    keyword = normalize_whitespace(keyword.casefold())
    parts = keyword.split()
    variants = [keyword, f"{keyword} gift"]
    if len(parts) > 2:
        variants.append(" ".join(parts[-2:]))
    if len(parts) > 1:
        variants += [f"{parts[-1]} gift", f"custom {parts[-1]}", parts[-1]]
    return variants


def compose_tags(niche: TrendScored | NicheBrief, *, variant: int = 0) -> list[str]:
    """Exactly 13 valid, distinct tags: the niche's top tags, keyword variants, then generic fill-ins."""
    top = [tag.casefold() for tag in niche.top_tags]
    generic = _rotate(list(GENERIC_TAGS), variant)
    candidates = [*_rotate(top, variant), *_keyword_tags(niche.keyword), *generic]
    kept: list[str] = []
    stems = StemIndex()
    for candidate in candidates:
        tag = repair_tag(candidate)
        if tag is None or len(tag) > TAG_MAX_CHARS:
            continue
        signature = plural_signature(tag)
        # the stem index also matches identical tags, so this drops plain and plural duplicates alike
        if stems.find(signature) is not None:
            continue
        kept.append(tag)
        stems.add(signature, tag)
        if len(kept) == TAG_COUNT:
            break
    return kept


def _signal_words(niche: TrendScored | NicheBrief) -> list[str]:
    texts = [niche.keyword, *niche.top_title_phrases, *niche.top_tags]
    return [word for text in texts for word in words(text)]


def compose_materials(niche: TrendScored | NicheBrief) -> list[str]:
    """Materials implied by the product word in the keyword (or, failing that, the top tags)."""
    for word in _signal_words(niche):
        materials = _MATERIALS_BY_PRODUCT.get(word)
        if materials:
            return list(materials)
    return []


def compose_styles(niche: TrendScored | NicheBrief) -> list[str]:
    """Up to two Etsy styles named by the niche's own words, in order of appearance."""
    styles: list[str] = []
    for word in _signal_words(niche):
        style = _STYLES_BY_WORD.get(word)
        if style and style not in styles:
            styles.append(style)
            if len(styles) == STYLES_MAX:
                break
    return styles


def compose_description(
    niche: TrendScored | NicheBrief, *, title: str, tags: list[str], materials: list[str], styles: list[str]
) -> str:
    """A short listing description ending with the AI-disclosure line."""
    keyword = normalize_whitespace(niche.keyword) or "this design"
    lines = [
        title,
        "",
        f"This {keyword} design is built around what shoppers in this niche look for: {', '.join(tags[:3])}.",
        "",
        "Details:",
    ]
    if styles:
        lines.append(f"- Style: {' and '.join(styles).lower()}")
    if materials:
        lines.append(f"- Materials: {', '.join(materials)}")
    lines += [
        "- Made to order once you purchase",
        "",
        "Please check the photos and size details before ordering, and message the shop with any questions.",
        "",
        AI_DISCLOSURE_LINE,
    ]
    return "\n".join(lines)


def compose(niche: TrendScored | NicheBrief, *, variant: int = 0) -> ProductConcept:
    """A listing-ready concept composed deterministically from the niche's keyword, tags and phrases.

    ``variant`` rotates which phrase leads the title and which tags come first, so several concepts for one
    niche differ (whether they differ enough is the near-duplicate guard's call).
    """
    title = compose_title(niche, variant=variant)
    tags = compose_tags(niche, variant=variant)
    materials = compose_materials(niche)
    styles = compose_styles(niche)
    description = compose_description(niche, title=title, tags=tags, materials=materials, styles=styles)
    return ProductConcept(
        title=title,
        tags=tags,
        description=description,
        materials=materials,
        styles=styles,
        who_made="i_did",
        when_made="made_to_order",
        is_supply=False,
    )


def _usable_band(band: PriceBand | None) -> PriceBand | None:
    if band is None:
        return None
    values = (band.p25, band.median, band.p75)
    if not all(math.isfinite(value) for value in values) or max(values) <= 0:
        return None
    low, high = sorted((band.p25, band.p75))
    return PriceBand(p25=max(low, 0.0), median=band.median, p75=high, currency=band.currency)


def _charm_price(target: float, low: float, high: float) -> float:
    """A price ending in .99 near ``target`` if one lies inside ``[low, high]``, else ``target`` in cents."""
    for candidate in (math.floor(target) + 0.99, math.floor(target) - 0.01):
        if low <= candidate <= high and candidate > 0:
            return round(candidate, 2)
    cents = round(target, 2)
    return cents if low <= cents <= high else target


def suggest_price(band: PriceBand | None, *, fallback: Money = DEFAULT_PRICE) -> PriceSuggestion:
    """Suggest the niche's median price (as a .99 price where one fits), never outside its p25-p75 band.

    Without a usable band (missing, non-finite or non-positive) the fallback price is suggested and the
    rationale says there was no evidence.
    """
    usable = _usable_band(band)
    if usable is None:
        return PriceSuggestion(
            price=fallback,
            band=None,
            rationale=(
                f"No price band for this niche; default price {fallback.amount:.2f} {fallback.currency}."
            ),
        )
    target = min(max(usable.median, usable.p25), usable.p75)
    price = _charm_price(target, usable.p25, usable.p75)
    return PriceSuggestion(
        price=Money(amount=price, currency=usable.currency),
        band=band,
        rationale=(
            f"Niche median {usable.median:.2f} {usable.currency} within its middle half "
            f"{usable.p25:.2f}-{usable.p75:.2f}; suggested {price:.2f}."
        ),
    )


def _cut(text: str, limit: int) -> str:
    return truncate_at_word(text, limit) or text[:limit]


def design_prompt(concept: ProductConcept, keyword: str) -> DesignPrompt:
    """An image-tool prompt for the concept's design and alt text for its listing photo (≤ 250 chars)."""
    keyword = normalize_whitespace(keyword)
    style = " and ".join(concept.styles).lower() or "clean, modern"
    motifs = ", ".join(concept.tags[:5])
    prompt = (
        f"Original product artwork for an Etsy listing titled {concept.title!r}. Theme: {keyword}. "
        f"Style: {style}. Motifs and mood drawn from: {motifs}. "
        "Use only original imagery and lettering: no logos, brand names, trademarked characters or "
        "copies of existing designs. High resolution, print-ready, centred on a plain background."
    )
    material = f" in {concept.materials[0]}" if concept.materials else ""
    alt_text = _cut(normalize_whitespace(f"{keyword}{material}: {concept.title}"), ALT_TEXT_MAX_CHARS)
    return DesignPrompt(prompt=prompt, alt_text=alt_text)
