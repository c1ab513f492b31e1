"""Which of a keyword's listings are about it: only those are scored.

A search answers with whatever matches loosely (a marketplace, or a simulator, may fill a page for any
query), so the analyzer decides for itself. A listing is about the keyword when its title and tags carry at
least ``min_term_share`` of the keyword's terms (stop words such as "for" do not count). A term is the stem
of a keyword word (:func:`stem`), and a listing carries it when one of its title or tag words begins with
that stem. Words are split at spaces and punctuation, and before a capital followed by a small letter as in
"SweatShirt" (not inside "DOG"): the stem "collar" is carried by "Collars for Dogs", "ring" by "Stacking
Rings" but not by "Earrings".

Too little relevant evidence (fewer than ``min_relevant_listings`` relevant listings, or a share under
``min_relevant_share``) makes the niche ``insufficient_data``: it is scored on what little is relevant, rated
high risk, and gets no concept.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Sequence
from functools import lru_cache
from itertools import compress, repeat

import msgspec

from etsygen_analyzer.domain.config import RelevanceConfig
from etsygen_analyzer.domain.text import STOPWORDS, WORD
from etsygen_common.contracts.listings import ListingSample
from etsygen_common.contracts.trends import Relevance
from etsygen_common.numbers import human_share

__all__ = ["KeywordTerms", "assess_relevance", "is_relevant", "keyword_terms", "relevant_listings", "stem"]

_WORD = re.compile(WORD)
_TITLE = operator.attrgetter("title")
_MIN_STEM = 3
"""No plural rule leaves a stem shorter than this ("toys" → "toy")."""
_MIN_DERIVED = 4
"""Nor does any other rule leave one shorter than this ("stacking" → "stack"; "ring", "string", "rose"
stay as they are): a short stem would begin too many unrelated words."""
_PLURAL_ES = ("sses", "xes", "ches", "shes", "zes")
_SINGULAR_S = ("ss", "us", "is")


def stem(word: str) -> str:
    """A small English stemmer for matching, not for display: the same stem for a word's common forms.

    Input: one lower-cased word. Rules, in order: a possessive ``'s`` goes; plurals (``puppies`` →
    ``puppi``, ``glasses`` → ``glass``, ``boxes`` → ``box``, ``rings`` → ``ring``; not ``-ss``, ``-us``,
    ``-is``); ``-ing`` and ``-ed`` (``stacking`` → ``stack``, with a doubled consonant undone:
    ``knitting`` → ``knit``); a final ``y`` becomes ``i`` (``puppy`` → ``puppi``) and a final ``e`` goes
    (``candle`` → ``candl``). A plural keeps at least three letters, every other rule four (``string``,
    ``rose`` and ``ring`` stay as they are). Only the last part of a hyphenated
    word is stemmed (``t-shirts`` → ``t-shirt``); words in other scripts or with digits stay as they are.
    """
    if word.endswith(("'s", "\u2019s")):
        word = word[:-2]
    head, hyphen, tail = word.rpartition("-")
    if not (tail.isascii() and tail.isalpha()) or len(tail) <= _MIN_STEM:
        return word
    return head + hyphen + _stem_letters(tail)


def _stem_letters(word: str) -> str:
    if word.endswith("ies") and len(word) > _MIN_STEM + 1:
        word = word[:-2]  # puppies -> puppi (as puppy -> puppi below)
    elif word.endswith(_PLURAL_ES) and len(word) > _MIN_STEM + 1:
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(_SINGULAR_S):
        word = word[:-1]
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= _MIN_DERIVED:
            word = word[: -len(suffix)]
            # knitting -> knit, shopping -> shop; but earring -> earr, not ear
            if len(word) > _MIN_DERIVED and word[-1] == word[-2] and word[-1] not in "aeiouylsz":
                word = word[:-1]
            return word
    if len(word) > _MIN_DERIVED and word[-1] in "ye":
        return word[:-1] + ("i" if word[-1] == "y" else "")
    return word


# Punctuation splits words as spaces do ("t-shirt" carries "shirt", "dog|collar" carries "collar"); letters
# and digits of any script are left alone.
_SPACE_OUT = str.maketrans(
    dict.fromkeys("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~\u2018\u2019\u201c\u201d\u2013\u2014\u2022", " ")
)


class KeywordTerms(msgspec.Struct, frozen=True, kw_only=True):
    """What a listing must carry to be about a keyword."""

    phrase: str
    """The keyword's words, lower-cased, joined by single spaces ("" when it has none)."""
    title_case: str
    """The phrase as titles mostly write it ("Dog Collar"; the phrase itself when not ASCII). A title
    containing it where a word begins carries every term."""
    title_case_begins_a_word: bool
    """Whether the title-cased phrase begins with a capital and a small letter, which begins a word
    wherever it stands, so that a title containing it anywhere carries every term."""
    terms: tuple[str, ...]
    """Stems of the keyword's words other than stop words, in keyword order, each once."""
    word_starts: tuple[str, ...]
    """Per term, what a listing's lower-cased text (punctuation spaced out, after a leading space) must
    contain: a space and what the keyword's word and its stem begin with ("puppy", stem "puppi": " pupp")."""
    letters: tuple[str, ...]
    """Per term, what the lower-cased text must contain somewhere for the term to be carried at all: the
    beginning without its space, up to the first punctuation ("t-shirt": "t")."""
    capitalized: tuple[str | None, ...]
    """Per term, that beginning with a capital ("Pupp"), which begins a word wherever it stands in the
    listing's own text; None when it does not begin with two ASCII letters."""
    required: int
    """How many of ``terms`` a listing's title and tags must carry (0 when there are no terms)."""


@lru_cache(maxsize=4096)
def keyword_terms(keyword: str, min_term_share: float) -> KeywordTerms:
    """The terms of a keyword and how many of them a relevant listing must carry.

    ``required`` is ``min_term_share`` of the terms rounded up, at least one: every term with the shipped
    1.0; with 0.6, both words of "dog collar", two of "crochet baby blanket", three of four.
    """
    words = _WORD.findall(keyword.lower())
    # Each term once, with the first keyword word that gave it.
    first_word: dict[str, str] = {}
    for word in words:
        if word not in STOPWORDS:
            first_word.setdefault(stem(word), word)
    terms = tuple(first_word)
    starts = [_common_start(term, first_word[term]).translate(_SPACE_OUT) for term in terms]
    required = max(1, math.ceil(min_term_share * len(terms) - 1e-9)) if terms else 0
    phrase = " ".join(words)
    title_case = phrase.title() if phrase.isascii() else phrase
    return KeywordTerms(
        phrase=phrase,
        title_case=title_case,
        title_case_begins_a_word=_begins_a_word(title_case),
        terms=terms,
        word_starts=tuple(" " + start for start in starts),
        letters=tuple(start.split(" ", 1)[0] for start in starts),
        capitalized=tuple(
            start.capitalize() if _begins_a_word(start.capitalize()) else None for start in starts
        ),
        required=required,
    )


def _begins_a_word(text: str) -> bool:
    """Whether ``text`` starts with an ASCII capital followed by an ASCII small letter."""
    return len(text) > 1 and text.isascii() and text[0].isupper() and text[1].islower()


def _common_start(first: str, second: str) -> str:
    length = 0
    for a, b in zip(first, second, strict=False):
        if a != b:
            break
        length += 1
    return first[:length]


def is_relevant(listing: ListingSample, terms: KeywordTerms) -> bool:
    """Whether one listing is about the keyword (the rule of the module docstring)."""
    if not terms.terms:
        return False
    return _carries_terms(listing.title, listing.tags, terms)


def relevant_listings(listings: Sequence[ListingSample], terms: KeywordTerms) -> Sequence[ListingSample]:
    """The listings that are about the keyword, in their order (the sequence itself when all are).

    Same result as filtering with :func:`is_relevant`, in fewer steps for the usual listing: marketplace
    titles are mostly in title case, and a title with the keyword in title case ("Dog Collar") where a word
    begins carries all its terms, so that is looked for first, in all titles at once. Only the listings
    without it have their title and tag words looked at.
    """
    if not terms.terms:
        return []
    titles = map(_TITLE, listings)
    if terms.title_case_begins_a_word:
        hits = list(map(operator.contains, titles, repeat(terms.title_case)))
    else:  # the phrase begins a word only after a space: give the first word one
        hits = list(
            map(operator.contains, map(operator.add, repeat(" "), titles), repeat(" " + terms.title_case))
        )
    if False not in hits:
        return listings
    # Only the listings the phrase did not settle are looked at one by one (list.index runs in C).
    miss = -1
    try:
        while True:
            miss = hits.index(False, miss + 1)
            listing = listings[miss]
            hits[miss] = _carries_terms(listing.title, listing.tags, terms)
    except ValueError:
        pass
    return list(compress(listings, hits))


def _carries_terms(title: str, tags: Sequence[str], terms: KeywordTerms) -> bool:
    """Whether a listing's title and tags carry enough of the keyword's terms."""
    if terms.phrase in tags:  # sellers often tag the very phrase shoppers search for: it carries every term
        return True
    raw = f" {title} {' '.join(tags)}"
    text = raw.lower()
    required = terms.required
    word_starts = terms.word_starts
    # A word start found before punctuation is spaced out is found after, so most listings are settled
    # without the (slower) translation, and without looking for capitals inside words.
    if sum(map(text.__contains__, word_starts)) >= required:
        return True
    # Spacing out punctuation and capitals inside words only split letters apart; they cannot make a
    # term's letters appear where the text does not have them at all.
    if sum(map(text.__contains__, terms.letters)) < required:
        return False
    spaced = text.translate(_SPACE_OUT)
    carried = 0
    for word_start, capitalized in zip(word_starts, terms.capitalized, strict=True):
        if word_start in spaced or (capitalized is not None and capitalized in raw):
            carried += 1
    return carried >= required


def assess_relevance(
    listing_count: int, relevant_count: int, terms: KeywordTerms, config: RelevanceConfig
) -> Relevance:
    """Whether the relevant listings are enough evidence to score the niche, with the reason if not."""
    share = relevant_count / listing_count if listing_count else 0.0
    reason: str | None = None
    if not terms.terms:
        reason = "the keyword has no words to match listings against"
    elif relevant_count < config.min_relevant_listings or share < config.min_relevant_share:
        reason = (
            f"only {relevant_count} of {listing_count} listings ({human_share(share)}) are about "
            f"\u201c{terms.phrase}\u201d; scoring needs at least {config.min_relevant_listings} relevant "
            f"listings making up {human_share(config.min_relevant_share)} of those fetched"
        )
    return Relevance(
        terms=list(terms.terms),
        relevant_listings=relevant_count,
        listings=listing_count,
        share=share,
        status="sufficient" if reason is None else "insufficient_data",
        reason=reason,
    )
