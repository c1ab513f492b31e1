"""Text evidence for the generator: the niche's most frequent tags and title phrases.

Both count each listing at most once per tag or phrase, so a listing that repeats a word does not dominate,
and ties are broken alphabetically so the output does not depend on listing order.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from itertools import chain

from etsygen_common.contracts.listings import ListingSample

__all__ = ["top_tags", "top_title_phrases"]

# Titles on Etsy are lists of phrases joined by punctuation; a phrase never spans one of these. Words (letters
# and digits in any script, joined by apostrophes or hyphens: "mom's", "t-shirt") and breaks come out of one
# regex pass; a break is any token that is not a word.
_TOKEN = re.compile(r"[^\W_]+(?:['\u2019-][^\W_]+)*|[,|/;:!?()\[\]{}.\u2013\u2014\u2022+&]|\s-\s")
_BREAKS = frozenset(",|/;:!?()[]{}.\u2013\u2014\u2022+&") | {" - "}
# A phrase may contain these words but not start or end with them ("gift for mom", not "for mom").
_STOPWORDS = frozenset(
    {"a", "an", "and", "as", "at", "by", "for", "from", "in", "into", "is", "it", "its", "of", "on", "or"}
    | {"the", "this", "that", "to", "with", "your", "my", "our", "his", "her"}
)
_NOT_AN_EDGE = _STOPWORDS | _BREAKS


def top_tags(listings: Iterable[ListingSample], limit: int) -> list[str]:
    """The ``limit`` tags used by the most listings (lower-cased, trimmed), most frequent first."""
    # One join and lower per listing instead of one per tag (Etsy tags cannot contain newlines).
    per_listing = [
        set(map(str.strip, "\n".join(listing.tags).lower().split("\n")))
        for listing in listings
        if listing.tags
    ]
    counts = Counter(chain.from_iterable(per_listing))
    counts.pop("", None)
    return _most_common(counts, limit)


def top_title_phrases(listings: Iterable[ListingSample], limit: int, min_listings: int) -> list[str]:
    """Frequent 2- and 3-word phrases from titles, found in at least ``min_listings`` listings.

    A phrase does not cross title punctuation and does not start or end with a stop word. A 2-word phrase is
    dropped when a reported 3-word phrase containing it occurs in as many listings (it adds nothing).
    """
    counts = Counter(chain.from_iterable(_title_phrases(listing.title) for listing in listings))
    frequent = [(phrase, count) for phrase, count in counts.items() if count >= min_listings]
    # Most listings first, then longer phrases, then alphabetical.
    frequent.sort(key=lambda item: (-item[1], -item[0].count(" "), item[0]))
    chosen: list[tuple[str, int]] = []
    for phrase, count in frequent:
        if any(other_count == count and f" {phrase} " in f" {other} " for other, other_count in chosen):
            continue
        chosen.append((phrase, count))
        if len(chosen) == limit:
            break
    return [phrase for phrase, _ in chosen]


def _title_phrases(title: str) -> set[str]:
    """The distinct 2- and 3-word phrases of one title."""
    tokens = _TOKEN.findall(title.lower())
    edge_ok = [token not in _NOT_AN_EDGE for token in tokens]
    phrases = {
        f"{first} {second}"
        for first, second, first_ok, second_ok in zip(tokens, tokens[1:], edge_ok, edge_ok[1:], strict=False)
        if first_ok and second_ok
    }
    phrases.update(
        f"{first} {middle} {last}"
        for first, middle, last, first_ok, last_ok in zip(
            tokens, tokens[1:], tokens[2:], edge_ok, edge_ok[2:], strict=False
        )
        if first_ok and last_ok and middle not in _BREAKS
    )
    return phrases


def _most_common(counts: Counter[str], limit: int) -> list[str]:
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [item for item, _ in ranked[:limit]]
