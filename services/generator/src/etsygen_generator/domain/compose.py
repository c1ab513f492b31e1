"""The built-in provider's logic: compose a listing-ready concept from a niche's own evidence, no network.

``compose`` writes the concept a seller would start from: a short title that says what the item is
(material, one detail, and a gift line only when the niche's listings support it), 13 tags from the niche's
own search phrases (long-tail first, no near-duplicates), a description with the materials, size or format,
personalization and delivery the evidence gives, and materials from the evidence. Its output always passes
:func:`~etsygen_generator.domain.validator.validate` (property-tested) and grades B or better on the
catalogue's niches (:mod:`~etsygen_generator.domain.quality`). The pieces every provider shares, the price
suggestion (:mod:`.pricing`) and the design prompt (:mod:`.design`), are re-exported here for the callers
that import them from the composer.
"""

from __future__ import annotations

from typing import Final

from etsygen_common.contracts.products import ProductConcept
from etsygen_common.contracts.trends import TrendScored
from etsygen_common.listing_terms import (
    DIGITAL_MARKERS,
    OCCASIONS,
    RECIPIENTS,
    find_terms,
    fold_words,
    has_phrase,
)
from etsygen_generator.domain.design import design_prompt
from etsygen_generator.domain.niche import (
    DANGLING_WORDS,
    GENERIC_ADJECTIVES,
    MINOR_WORDS,
    NicheBrief,
    NicheFacts,
    ProductKind,
    is_generic_phrase,
    read_niche,
)
from etsygen_generator.domain.pricing import suggest_price
from etsygen_generator.domain.text import (
    StemIndex,
    normalize_whitespace,
    plural_signature,
    singular_word,
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

__all__ = [
    "GENERIC_TAGS",
    "NicheBrief",
    "compose",
    "compose_description",
    "compose_materials",
    "compose_styles",
    "compose_tags",
    "compose_title",
    "design_prompt",
    "suggest_price",
]

FALLBACK_ITEM: Final = "gift"
TITLE_DETAILS: Final = 2
GENERIC_TAGS_KEPT: Final = 2

# Neutral fill-in tags, used only when the niche's own phrases and their combinations give fewer than 13.
# None names an occasion or a recipient (those need evidence), no two are duplicates or plural duplicates
# of each other, and there are more than 13, so the composer always reaches 13 tags.
GENERIC_TAGS: Final[tuple[str, ...]] = (
    "gift idea",
    "thoughtful gift",
    "one of a kind",
    "original design",
    "small business",
    "shop small",
    "keepsake",
    "special present",
    "everyday favorite",
    "treat yourself",
    "giftable",
    "present idea",
    "just because",
    "conversation piece",
    "cheerful design",
    "lovely present",
)

# Style words a shopper uses -> the Etsy style name.
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

_RECIPIENT_NAMES: Final[dict[str, str]] = {
    "dog lover": "Dog Lovers",
    "cat lover": "Cat Lovers",
    "teacher": "Teachers",
    "bridesmaid": "Bridesmaids",
    "kids": "Kids",
    "couple": "Couples",
    "coworker": "Coworkers",
    "baby": "Baby",
}


def _rotate(items: list[str], by: int) -> list[str]:
    if not items:
        return items
    shift = by % len(items)
    return items[shift:] + items[:shift]


# Words shoppers write in a fixed case ("iPad", "PDF"); title-casing them would read as a typo.
_FIXED_CASE: Final[dict[str, str]] = {
    word.lower(): word
    for word in (
        *("iPad", "PDF", "SVG", "PNG", "JPG", "DnD", "RPG", "DIY", "USB", "LED", "3D", "14K", "18K"),
        *("A4", "A5", "XL", "XXL", "MDF"),
    )
}


def _title_case(text: str) -> str:
    """Capitalise lower-case words (minor words after the first stay lower); mixed case is left alone."""
    cased = [
        _FIXED_CASE.get(word)
        or (
            word[:1].upper() + word[1:]
            if word.islower() and (index == 0 or word not in MINOR_WORDS)
            else word
        )
        for index, word in enumerate(text.split())
    ]
    return " ".join(cased)


def _clean_title(text: str) -> str:
    cleaned, _ = repair_title(text)
    if len(cleaned) > TITLE_MAX_CHARS:  # one enormous word: composing, not repairing, so a hard cut is fine
        cleaned = cleaned[:TITLE_MAX_CHARS]
    return cleaned


def _keys(text: str) -> list[str]:
    return [singular_word(word) for word in fold_words(text).split() if word not in MINOR_WORDS]


def _fits(title_keys: list[str], phrase: str) -> bool:
    """A detail adds at least one new word and repeats none already used twice or in a row."""
    keys = _keys(phrase)
    if len(set(keys)) < len(keys):  # "cat cat cat" repeats itself
        return False
    new = [key for key in keys if key not in title_keys]
    repeated = [key for key in keys if key in title_keys]
    return (
        bool(new)
        and len(repeated) <= 1
        and all(title_keys.count(key) < 2 for key in repeated)
        and (not repeated or len(keys) > 1)
    )


def _material_for(facts: NicheFacts) -> str | None:
    item_keys = set(_keys(facts.item))
    if facts.kind != "physical" or not facts.materials:
        return None
    # Only a material the niche's phrases name for this item ("leather collar") or on its own ("merino
    # wool"): "gold edge" on a tarot deck does not make it a deck "in gold".
    for material in facts.materials:
        named = any(
            f" {material} " in f" {p} " and (facts.head in p.split() or p == material) for p in facts.phrases
        )
        if named and not set(_keys(material)) & item_keys:
            return material
    return None


def _details(facts: NicheFacts, niche: TrendScored | NicheBrief, variant: int) -> list[str]:
    candidates = [*facts.phrases, *(fold_words(phrase) for phrase in niche.top_title_phrases)]
    # Without listing evidence a phrase only describes the item if it shares a word with the keyword (top
    # tags alone may come from listings about something else).
    keyword_keys = set(_keys(facts.keyword))
    related = niche.evidence is not None or not keyword_keys
    usable = [
        _completed(phrase, facts)
        for phrase in dict.fromkeys(candidates)
        if phrase
        and 2 <= len(phrase.split()) <= 3
        and not is_generic_phrase(phrase)
        and phrase.split()[-1] not in DANGLING_WORDS | GENERIC_ADJECTIVES  # "cat mug cute" is cut
        and "gift" not in phrase.split()  # a gift line is only written from supported occasions/recipients
        and phrase not in facts.sizes
        and not _claims_words(phrase)
        and (related or bool(set(_keys(phrase)) & keyword_keys))
    ]
    return _rotate(list(dict.fromkeys(usable)), variant)


def _completed(phrase: str, facts: NicheFacts) -> str:
    """A phrase that is the start of a material the niche names, as that material ("full grain leather")."""
    return next((m for m in facts.materials if m.startswith(f"{phrase} ")), phrase)


def _claims_words(phrase: str) -> bool:
    return bool(find_terms(phrase, OCCASIONS) or find_terms(phrase, RECIPIENTS))


def _gift_line(facts: NicheFacts) -> str | None:
    item_keys = set(_keys(facts.item))
    occasion = next((o for o in facts.occasions if not set(_keys(o)) <= item_keys), None)
    recipient = next(
        (r for r in facts.recipients if not set(_keys(r)) & item_keys and "for" not in facts.item.split()),
        None,
    )
    who = _RECIPIENT_NAMES.get(recipient, _title_case(recipient)) if recipient else None
    if occasion and who:
        return f"{_title_case(occasion)} Gift for {who}"
    if occasion:
        return f"{_title_case(occasion)} Gift"
    return f"Gift for {who}" if who else None


def compose_title(niche: TrendScored | NicheBrief, *, variant: int = 0) -> str:
    """What the item is first (with its material), up to two of the niche's details, a supported gift line."""
    facts = read_niche(_brief(niche))
    lead = _title_case(facts.item) or _title_case(FALLBACK_ITEM)
    material = _material_for(facts)
    if material:
        lead = f"{lead} in {_title_case(material)}"
    parts = [lead]
    title_keys = _keys(lead)
    gift = _gift_line(facts)
    for detail in _details(facts, niche, variant):
        if len(parts) > TITLE_DETAILS:
            break
        if _fits(title_keys, detail):
            parts.append(_title_case(detail))
            title_keys += _keys(detail)
    if gift and _fits(title_keys, gift):
        parts.append(gift)
    title = ""
    for part in parts:
        joined = f"{title}, {part}" if title else part
        if len(_clean_title(joined)) <= TITLE_MAX_CHARS and len(joined.split()) <= 15:
            title = joined
    return _clean_title(title) or _title_case(FALLBACK_ITEM)


def _brief(niche: TrendScored | NicheBrief) -> NicheBrief:
    return niche if isinstance(niche, NicheBrief) else NicheBrief.from_trend(niche)


def _combinations(facts: NicheFacts) -> list[str]:
    head = facts.head
    combos = [f"{material} {head}" for material in facts.materials]
    combos += [f"{occasion} gift" for occasion in facts.occasions]
    combos += [f"gift for {recipient}" for recipient in facts.recipients]
    combos += [size for size in facts.sizes if len(size.split()) > 1]
    if facts.kind == "digital":
        combos += ["instant download", f"printable {head}", f"digital {head}"]
    if head != "gift":
        combos.append(f"{head} gift")
    return combos


def compose_tags(niche: TrendScored | NicheBrief, *, variant: int = 0) -> list[str]:
    """Exactly 13 valid, distinct tags: the niche's phrases, their combinations, then neutral fill-ins.

    Multi-word (long-tail) tags come first; plural, singular and word-order variants of a kept tag are
    skipped; "<adjective> <noun>" tags such as "custom collar" are kept to two, after the niche's own.
    """
    facts = read_niche(_brief(niche))
    phrases = [phrase for phrase in facts.phrases if not is_generic_phrase(phrase)]
    generic = [p for p in facts.phrases if is_generic_phrase(p) and p.split()[-1] == facts.head]
    if facts.personalized:
        generic.insert(0, f"personalized {facts.head}")
    generic = generic[:GENERIC_TAGS_KEPT]
    own = [facts.keyword, facts.item, *_rotate(phrases, variant), *_combinations(facts), *generic]
    candidates = [
        *[tag for tag in own if len(tag.split()) > 1],
        *[tag for tag in own if len(tag.split()) == 1],
        *_rotate(list(GENERIC_TAGS), variant),
    ]
    kept: list[str] = []
    stems = StemIndex()
    orders: set[tuple[str, ...]] = set()
    generic_kept = 0
    for candidate in candidates:
        tag = repair_tag(candidate)
        # a phrase repair_tag had to cut ("leather wallet for") is a fragment, not a tag
        if tag is None or len(tag) > TAG_MAX_CHARS or tag != normalize_whitespace(candidate):
            continue
        tag_words = fold_words(tag).split()
        if tag_words and tag_words[-1] in DANGLING_WORDS:
            continue
        generic_tag = is_generic_phrase(fold_words(tag))
        if generic_tag and generic_kept == GENERIC_TAGS_KEPT:
            continue
        signature = plural_signature(tag)
        order = tuple(sorted(singular_word(word) for word in fold_words(tag).split()))
        # the stem index also matches identical tags, so this drops plain and plural duplicates alike
        if stems.find(signature) is not None or order in orders:
            continue
        kept.append(tag)
        stems.add(signature, tag)
        orders.add(order)
        generic_kept += generic_tag
        if len(kept) == TAG_COUNT:
            break
    return sorted(kept, key=lambda tag: len(tag.split()) == 1)


def _signal_words(niche: TrendScored | NicheBrief) -> list[str]:
    texts = [niche.keyword, *niche.top_title_phrases, *niche.top_tags]
    return [word for text in texts for word in words(text)]


def compose_materials(niche: TrendScored | NicheBrief) -> list[str]:
    """Materials the niche's listings name (or, without evidence, its keyword, tags or product word imply)."""
    return list(read_niche(_brief(niche)).materials)


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


def _delivery_line(kind: ProductKind) -> str:
    if kind == "digital":
        return (
            "Delivery: this is an instant digital download. The files are ready in your Etsy purchases as "
            "soon as payment clears; nothing is shipped."
        )
    return "Delivery: carefully packed and shipped within the processing time shown on this listing."


def _features(facts: NicheFacts) -> list[str]:
    """The niche's own multi-word phrases that say something the item's name does not."""
    item_keys = set(_keys(facts.item))
    return [
        phrase
        for phrase in facts.phrases
        if len(phrase.split()) > 1
        and "gift" not in phrase.split()
        and not is_generic_phrase(phrase)
        and not set(_keys(phrase)) <= item_keys
        and not _claims_words(phrase)
        and phrase not in facts.sizes
        and phrase.split()[-1] not in DANGLING_WORDS
        and not has_phrase(phrase, DIGITAL_MARKERS)
    ][:3]


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def compose_description(
    niche: TrendScored | NicheBrief, *, title: str, tags: list[str], materials: list[str], styles: list[str]
) -> str:
    """What it is, what it is made of, size or format, personalization, delivery, and the AI disclosure.

    ``title`` and ``tags`` are not repeated: the description starts with what the item is, in a sentence.
    """
    del title, tags  # the description says what the item is in its own words, not the title's or tags'
    facts = read_niche(_brief(niche))
    item = facts.item or FALLBACK_ITEM
    if facts.kind == "digital":
        lines = [f"This {item} is an instant digital download."]
    else:
        made_of = f" from {_and(materials)}" if materials else ""
        lines = [f"This {item} is made by hand{made_of} once you order."]
    features = _features(facts)
    if features:
        lines.append(f"Features shoppers in this niche look for: {_and(features)}.")
    lines += ["", "Details:", f"- Item: {item}"]
    if materials:
        lines.append(f"- Materials: {', '.join(materials)}")
    if styles:
        lines.append(f"- Style: {' and '.join(styles).lower()}")
    if facts.sizes:
        label = "Format" if facts.kind == "digital" else "Size"
        lines.append(f"- {label}: {', '.join(facts.sizes[:3])}")
    if facts.personalized:
        lines.append(
            "- Personalization: add the name, initials or text you want in the personalization box at "
            "checkout, and it is made exactly as you write it."
        )
    if facts.occasions:
        lines.append(f"- A thoughtful gift for {_and(facts.occasions[:2])}")
    lines += [
        "",
        _delivery_line(facts.kind),
        "Please check the photos and details before ordering, and message the shop with any questions.",
        "",
        AI_DISCLOSURE_LINE,
    ]
    return "\n".join(lines)


def compose(niche: TrendScored | NicheBrief, *, variant: int = 0) -> ProductConcept:
    """A listing-ready concept composed deterministically from the niche's keyword, tags and evidence.

    ``variant`` rotates which of the niche's details the title carries and which phrases lead the tags, so
    several concepts for one niche differ (whether they differ enough is the near-duplicate guard's call).
    """
    niche = _brief(niche)  # once, so every part below reads the same brief (and read_niche's memo holds)
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
