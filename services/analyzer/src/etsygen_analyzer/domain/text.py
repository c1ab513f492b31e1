"""Text evidence for the generator: the niche's most frequent tags and title phrases.

Both count each listing at most once per tag or phrase, so a listing that repeats a word does not dominate,
and ties are broken alphabetically so the output does not depend on listing order.

This runs for every scored keyword, so both functions work on all of a keyword's listings at once: each
distinct tag is normalised once, and the titles become one token list (plain ASCII titles through one
``str.translate`` and ``str.split`` rather than the regex) scanned once for phrases, collected in one set per
title. Each shortcut checks its own condition and otherwise falls back to the rule it replaces, so results
never depend on which path ran.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from itertools import accumulate, chain, compress, repeat
from operator import eq

from etsygen_common.contracts.listings import ListingSample

__all__ = ["STOPWORDS", "WORD", "top_tags", "top_title_phrases"]

WORD = r"[^\W_]+(?:['\u2019-][^\W_]+)*"
"""A word: letters and digits in any script, joined by apostrophes or hyphens ("mom's", "t-shirt")."""
# Titles on Etsy are lists of phrases joined by punctuation; a phrase never spans one of these. Words and
# breaks come out of one regex pass; a break is any token that is not a word.
_TOKEN = re.compile(WORD + r"|[,|/;:!?()\[\]{}.\u2013\u2014\u2022+&]|\s-\s")
_BREAKS = frozenset(",|/;:!?()[]{}.\u2013\u2014\u2022+&") | {" - "}
# A phrase may contain these words but not start or end with them ("gift for mom", not "for mom"); a
# keyword's relevance is measured on its other words.
STOPWORDS = frozenset(
    {"a", "an", "and", "as", "at", "by", "for", "from", "in", "into", "is", "it", "its", "of", "on", "or"}
    | {"the", "this", "that", "to", "with", "your", "my", "our", "his", "her"}
)


def top_tags(listings: Iterable[ListingSample], limit: int) -> list[str]:
    """The ``limit`` tags used by the most listings (lower-cased, trimmed), most frequent first."""
    listings = list(listings)
    # Count the raw tag strings (within a keyword most listings share them), then normalise each distinct one.
    raw = Counter(chain.from_iterable([set(listing.tags) for listing in listings]))
    originals = list(raw)
    # One join and lower for all: lower() maps character by character except for a final sigma, and a newline
    # ends the word for that rule too, so this gives the same strings as lowering each tag on its own.
    normalised = "\n".join(originals).lower().split("\n")
    if len(normalised) != len(originals):  # a tag contains a newline (or there are no tags)
        return _top_tags_by_listing(listings, limit)
    normalised = list(map(str.strip, normalised))
    counts: dict[str, int]
    if len(set(normalised)) == len(normalised):
        # One raw spelling per tag: its raw count is already the number of listings using it.
        counts = dict(zip(normalised, raw.values(), strict=True))
    else:
        # Several spellings of a tag ("Gift", "gift "), maybe in one listing: count per listing.
        normalise = dict(zip(originals, normalised, strict=True)).__getitem__
        counts = Counter(chain.from_iterable([set(map(normalise, listing.tags)) for listing in listings]))
    counts.pop("", None)
    return _most_common(counts, limit)


def _top_tags_by_listing(listings: list[ListingSample], limit: int) -> list[str]:
    """:func:`top_tags` normalising each listing's tags together (a tag containing a newline is split)."""
    counts = Counter(
        chain.from_iterable(
            set(map(str.strip, "\n".join(listing.tags).lower().split("\n")))
            for listing in listings
            if listing.tags
        )
    )
    counts.pop("", None)
    return _most_common(counts, limit)


def _most_common(counts: dict[str, int], limit: int) -> list[str]:
    # Alphabetical first, then a stable sort by count (``reverse`` keeps equal counts in alphabetical order).
    return sorted(sorted(counts), key=counts.__getitem__, reverse=True)[:limit]


def top_title_phrases(listings: Iterable[ListingSample], limit: int, min_listings: int) -> list[str]:
    """Frequent 2- and 3-word phrases from titles, found in at least ``min_listings`` listings.

    A phrase does not cross title punctuation and does not start or end with a stop word. A 2-word phrase is
    dropped when a reported 3-word phrase containing it occurs in as many listings (it adds nothing).
    """
    tokens = _title_tokens([listing.title for listing in listings])
    edges = list(map(_EDGE_OR_NONE.get, tokens, tokens))  # None: a stop word, break or title end
    # Each token's title number: how many _END come before it.
    title_of = list(accumulate(map(eq, tokens, repeat(_END))))
    # One set of phrases per title counts each title once per phrase.
    title_phrases: list[set[str]] = [set() for _ in range(title_of[-1] + 1)] if tokens else []
    # A phrase string is built only once both of its ends are known to be good, and ``compress`` skips, in C,
    # the positions that cannot start one. (zip stops at its shortest list; the 3-word ends are padded with a
    # None so that the last pair is not lost.)
    windows = zip(edges, edges[1:], tokens[1:], [*edges[2:], None], title_of, strict=False)
    for first, second, middle, last, title in compress(windows, edges):
        if second:
            title_phrases[title].add(f"{first} {second}")
        if last and middle not in _SEPARATORS:  # the middle may be a stop word, not a break or title end
            title_phrases[title].add(f"{first} {middle} {last}")
    counts = Counter(chain.from_iterable(title_phrases))
    # Most listings first, then longer phrases, then alphabetical (plain tuple order, no key function).
    frequent = sorted(
        (-count, -phrase.count(" "), phrase) for phrase, count in counts.items() if count >= min_listings
    )
    chosen: list[str] = []
    # Counts only decrease along ``frequent``, so the chosen phrases with the current count (the only ones a
    # phrase is compared with) are the ones chosen since the count last changed; kept padded with spaces.
    same_count: list[str] = []
    current: int | None = None
    for negative_count, _, phrase in frequent:
        if negative_count != current:
            current, same_count = negative_count, []
        padded = f" {phrase} "
        if any(padded in other for other in same_count):
            continue
        chosen.append(phrase)
        if len(chosen) == limit:
            break
        same_count.append(padded)
    return chosen


# --- title tokens -------------------------------------------------------------------------------------------
# All titles become one token list: every break is _BREAK and _END separates titles. The regex never yields
# either character; the fast path turns a _BREAK inside a title into a space, and leaves any title containing
# _END to the regex.
_BREAK = "\x00"
_END = "\x01"
_SEPARATORS = frozenset({_BREAK, _END})
_SPACED_BREAK = f" {_BREAK} "
_SPACED_END = f" {_END} "
# For ``dict.get(token, token)``: the token itself, or _BREAK for a break / None for what cannot end a phrase.
_BREAK_OR_TOKEN = dict.fromkeys(_BREAKS, _BREAK)
_EDGE_OR_NONE = dict.fromkeys(STOPWORDS | _SEPARATORS)


def _ascii_table() -> dict[int, str]:
    """``str.translate`` table doing on an ASCII title what ``_TOKEN.findall(title.lower())`` does.

    Letters are lower-cased and digits kept; apostrophes and hyphens are kept (they may join a word); break
    characters become _BREAK; anything else (spaces, "_", other punctuation, control characters) separates
    words. Every value is one ASCII character, which keeps CPython on its fast ASCII translate loop.
    """
    table = {}
    for code in range(128):
        char = chr(code)
        if char.isalnum():
            table[code] = char.lower()
        elif char in "'-":
            table[code] = char
        elif char in _BREAKS:
            table[code] = _BREAK
        else:
            table[code] = " "
    return table


_ASCII_TABLE = _ascii_table() | {ord(_END): _END}  # keeps the _END joining titles (none contains one)
# After translation: an apostrophe or hyphen without a letter or digit on both sides. The regex would not keep
# it inside a word (a dangling "-", "'s", "a--b", a spaced dash other than " - "), so the regex decides.
_LOOSE_JOINER = re.compile(r"(?<![a-z0-9])['-]|['-](?![a-z0-9])")


def _has_loose_joiner(text: str) -> bool:
    return ("-" in text or "'" in text) and _LOOSE_JOINER.search(text) is not None


def _title_tokens(titles: list[str]) -> list[str]:
    """The tokens of all titles, breaks as _BREAK and titles separated by _END (in any order of titles).

    Plain ASCII titles are translated together, so that one ``split()`` gives the regex's tokens for all of
    them: " - " is the only break longer than one character, and replacing it first by a one-character break
    matches the regex, which also takes the leftmost non-overlapping occurrences. A title with a loose joiner,
    a non-ASCII title or one containing _END goes through the regex instead.
    """
    others: list[str] = []
    joined = _END.join(titles)
    if joined.isascii() and joined.count(_END) == len(titles) - 1:  # the usual case
        plain = titles
    else:
        plain = []
        for title in titles:
            (plain if title.isascii() and _END not in title else others).append(title)
        joined = _END.join(plain)
    text = joined.replace(" - ", " , ").translate(_ASCII_TABLE)
    if _has_loose_joiner(text):
        # Find the titles concerned: each title's translation is its own part of the joined one (the table
        # maps character by character, and no " - " spans two titles).
        kept: list[str] = []
        for title, title_text in zip(plain, text.split(_END), strict=True):
            if _has_loose_joiner(title_text):
                others.append(title)
            else:
                kept.append(title_text)
        text = _END.join(kept)
    tokens = text.replace(_BREAK, _SPACED_BREAK).replace(_END, _SPACED_END).split()
    for title in others:
        tokens.append(_END)
        words = _TOKEN.findall(title.lower())
        tokens += map(_BREAK_OR_TOKEN.get, words, words)
    return tokens
