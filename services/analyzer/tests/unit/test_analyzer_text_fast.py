"""The fast text evidence (``domain/text.py``) gives exactly what the straightforward version gave.

``_reference_*`` below is the implementation the fast one replaced, copied verbatim: it is the specification.
Random titles mix what could trip the shortcuts (ASCII fast path, " - " breaks, apostrophes and hyphens,
Unicode case mapping, whitespace other than spaces, the characters the fast path uses internally); random tags
mix case, padding, empties, duplicates, newlines and non-ASCII text.
"""

from __future__ import annotations

import importlib.util
import re
from collections import Counter
from collections.abc import Iterable
from itertools import chain
from pathlib import Path

import pytest
from analyzer_builders import CONFIG
from hypothesis import given, settings
from hypothesis import strategies as st

from etsygen_analyzer.domain import text as text_module
from etsygen_analyzer.domain.scoring import unique_listings
from etsygen_analyzer.domain.text import _title_tokens, top_tags, top_title_phrases
from etsygen_common.contracts.base import Money
from etsygen_common.contracts.listings import ListingSample

# --- the reference: the previous implementation, verbatim ---------------------------------------------------

_REFERENCE_TOKEN = re.compile(r"[^\W_]+(?:['\u2019-][^\W_]+)*|[,|/;:!?()\[\]{}.\u2013\u2014\u2022+&]|\s-\s")
_REFERENCE_BREAKS = frozenset(",|/;:!?()[]{}.\u2013\u2014\u2022+&") | {" - "}
_REFERENCE_STOPWORDS = frozenset(
    {"a", "an", "and", "as", "at", "by", "for", "from", "in", "into", "is", "it", "its", "of", "on", "or"}
    | {"the", "this", "that", "to", "with", "your", "my", "our", "his", "her"}
)
_REFERENCE_NOT_AN_EDGE = _REFERENCE_STOPWORDS | _REFERENCE_BREAKS


def _reference_top_tags(listings: Iterable[ListingSample], limit: int) -> list[str]:
    per_listing = [
        set(map(str.strip, "\n".join(listing.tags).lower().split("\n")))
        for listing in listings
        if listing.tags
    ]
    counts = Counter(chain.from_iterable(per_listing))
    counts.pop("", None)
    return _reference_most_common(counts, limit)


def _reference_top_title_phrases(
    listings: Iterable[ListingSample], limit: int, min_listings: int
) -> list[str]:
    counts = Counter(chain.from_iterable(_reference_title_phrases(listing.title) for listing in listings))
    frequent = [(phrase, count) for phrase, count in counts.items() if count >= min_listings]
    frequent.sort(key=lambda item: (-item[1], -item[0].count(" "), item[0]))
    chosen: list[tuple[str, int]] = []
    for phrase, count in frequent:
        if any(other_count == count and f" {phrase} " in f" {other} " for other, other_count in chosen):
            continue
        chosen.append((phrase, count))
        if len(chosen) == limit:
            break
    return [phrase for phrase, _ in chosen]


def _reference_title_phrases(title: str) -> set[str]:
    tokens = _REFERENCE_TOKEN.findall(title.lower())
    edge_ok = [token not in _REFERENCE_NOT_AN_EDGE for token in tokens]
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
        if first_ok and last_ok and middle not in _REFERENCE_BREAKS
    )
    return phrases


def _reference_most_common(counts: Counter[str], limit: int) -> list[str]:
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [item for item, _ in ranked[:limit]]


# --- inputs -------------------------------------------------------------------------------------------------

_ASCII_WORDS = ["dog", "Collar", "LEATHER", "mom's", "t-shirt", "T-Shirt", "gift", "Gift", "mug", "x", "2024"]
_ASCII_WORDS += ["3d", "for", "FOR", "the", "and", "her", "his", "a", "with", "Mom's", "rock-n-roll", "it's"]
_UNICODE_WORDS = ["café", "Straße", "ΟΔΥΣΣΕΥΣ", "ΑΣ", "İstanbul", "日本", "naïve", "mom\u2019s", "Ǆemal"]
_UNICODE_WORDS += ["don\u2019t", "ﬁre", "٣", "Ⅻ", "ǅ", "ß"]
_ASCII_BREAKS = [*",|/;:!?()[]{}.+&", " - "]
_UNICODE_BREAKS = ["\u2013", "\u2014", "\u2022"]
# Loose joiners, odd whitespace and dashes, and the two characters the fast path uses internally.
_ASCII_ODD = ["-", "'", "--", "_", "a_b", "\t", "\n", "\r\n", "\x0b", "\t-\t", " -\t", "\x1c-\x1c", "\x1f"]
_ASCII_ODD += ["\x00", "\x01", "'s", "-a", "a-", "a--b", "a-'b", "a'-b", "' '", " - - ", "~", "#1", "@", "%"]
_UNICODE_ODD = ["\u2019", "🎁", "🐶", "™", "½", "\u00a0", "\u2028", "\u00a0-\u00a0", "\u3000", "\u200b"]
_UNICODE_ODD += ["Σ\u2019", "x\u2019"]

_SEPARATORS = st.sampled_from([" ", " ", " ", "", "  ", "\t", ", "])
_ASCII_PIECES = st.one_of(
    st.sampled_from(_ASCII_WORDS),
    st.sampled_from(_ASCII_BREAKS),
    st.sampled_from(_ASCII_ODD),
    st.text(st.characters(max_codepoint=127), max_size=4),
)
_ANY_PIECES = st.one_of(
    _ASCII_PIECES,
    st.sampled_from(_UNICODE_WORDS),
    st.sampled_from(_UNICODE_BREAKS),
    st.sampled_from(_UNICODE_ODD),
    st.text(max_size=4),
)


def _titles(pieces: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.lists(st.tuples(pieces, _SEPARATORS), max_size=10).map(
        lambda parts: "".join(piece + separator for piece, separator in parts)
    )


# Plain titles (words, breaks, " - ", inner apostrophes and hyphens) keep every title on the fast path, so the
# whole keyword goes through one translate; any odd piece sends a title, or the keyword, the slower way.
plain_titles = _titles(st.sampled_from(_ASCII_WORDS) | st.sampled_from(_ASCII_BREAKS))
ascii_titles = _titles(_ASCII_PIECES)
any_titles = st.one_of(ascii_titles, _titles(_ANY_PIECES))


@st.composite
def title_lists(draw: st.DrawFn, titles: st.SearchStrategy[str]) -> list[str]:
    """Titles from a small pool (so that phrases recur across listings), plus fresh ones."""
    pool = draw(st.lists(titles, min_size=1, max_size=4))
    return draw(st.lists(st.sampled_from(pool) | titles, max_size=12))


_TAGS = ["Dog Collar", "dog collar", " dog collar ", "DOG COLLAR", "leather", "Leather ", "gift", "Gift", "İ"]
_TAGS += ["", " ", "\t", "ΑΣ", "ας", "σας", "ΣΑΣ", "Straße", "STRASSE", "café", "CAFÉ", "🎁", "x\u00a0"]
_TAGS += ["\u2028y", "ǅ", "Ǆ"]
_NEWLINE_TAGS = ["a\nb", "\n", "A\n", "\nΣ", "x\r\ny"]
tags_without_newlines = st.lists(
    st.sampled_from(_TAGS) | st.text(st.characters(blacklist_characters="\n"), max_size=6), max_size=13
)
any_tags = st.lists(st.sampled_from(_TAGS + _NEWLINE_TAGS) | st.text(max_size=6), max_size=13)


def _listings(titles: list[str], tag_lists: list[list[str]] | None = None) -> list[ListingSample]:
    return [
        ListingSample(
            listing_id=index,
            shop_id=1,
            title=title,
            price=Money(amount=10.0),
            tags=tag_lists[index % len(tag_lists)] if tag_lists else [],
        )
        for index, title in enumerate(titles)
    ]


LIMITS = st.integers(min_value=0, max_value=12)
MIN_LISTINGS = st.integers(min_value=0, max_value=3)
EXAMPLES = settings(max_examples=300, deadline=None)
FEWER_EXAMPLES = settings(max_examples=200, deadline=None)


# --- properties ---------------------------------------------------------------------------------------------


def _assert_same_phrases(titles: list[str], limit: int, min_listings: int) -> None:
    listings = _listings(titles)
    assert top_title_phrases(listings, limit, min_listings) == _reference_top_title_phrases(
        listings, limit, min_listings
    )
    # With no limit and min_listings 1, every phrase of every title shows up (unless a 3-word one covers it).
    assert top_title_phrases(listings, 10_000, 1) == _reference_top_title_phrases(listings, 10_000, 1)


@EXAMPLES
@given(titles=title_lists(plain_titles), limit=LIMITS, min_listings=MIN_LISTINGS)
def test_title_phrases_equal_the_reference_on_plain_titles(
    titles: list[str], limit: int, min_listings: int
) -> None:
    _assert_same_phrases(titles, limit, min_listings)


@EXAMPLES
@given(titles=title_lists(ascii_titles), limit=LIMITS, min_listings=MIN_LISTINGS)
def test_title_phrases_equal_the_reference_on_ascii_titles(
    titles: list[str], limit: int, min_listings: int
) -> None:
    _assert_same_phrases(titles, limit, min_listings)


@EXAMPLES
@given(titles=title_lists(any_titles), limit=LIMITS, min_listings=MIN_LISTINGS)
def test_title_phrases_equal_the_reference_on_any_titles(
    titles: list[str], limit: int, min_listings: int
) -> None:
    _assert_same_phrases(titles, limit, min_listings)


@FEWER_EXAMPLES
@given(titles=st.lists(any_titles, max_size=5))
def test_title_tokens_are_the_regex_tokens(titles: list[str]) -> None:
    # The tokeniser on its own, fast path included: per title the regex's tokens with breaks as "\x00", titles
    # separated by "\x01" (in any order, maybe with one more empty title).
    expected = [
        tuple(
            "\x00" if token in _REFERENCE_BREAKS else token
            for token in _REFERENCE_TOKEN.findall(title.lower())
        )
        for title in titles
    ]
    groups: list[tuple[str, ...]] = [()]
    for token in _title_tokens(titles):
        if token == "\x01":
            groups.append(())
        else:
            groups[-1] += (token,)
    assert Counter(groups) in (Counter(expected), Counter([*expected, ()]))


@FEWER_EXAMPLES
@given(tag_lists=st.lists(tags_without_newlines, max_size=12), limit=LIMITS)
def test_top_tags_equal_the_reference(tag_lists: list[list[str]], limit: int) -> None:
    listings = _listings(["t"] * len(tag_lists), tag_lists)
    assert top_tags(listings, limit) == _reference_top_tags(listings, limit)


@FEWER_EXAMPLES
@given(tag_lists=st.lists(any_tags, max_size=12), limit=LIMITS)
def test_top_tags_equal_the_reference_with_any_tags(tag_lists: list[list[str]], limit: int) -> None:
    listings = _listings(["t"] * len(tag_lists), tag_lists)
    assert top_tags(listings, limit) == _reference_top_tags(listings, limit)


# --- examples -----------------------------------------------------------------------------------------------

TRICKY_TITLES = [
    "Personalized Dog Collar, Leather Pet Tag",
    "Custom Mug - Gift for Her - Coffee Mug",
    "Gift for Mom's Birthday | Mom's Mug | T-Shirt for Mom",
    "a - - b c d",
    "x\t-\ty z",
    "x -\ty z w",
    "rock-n-roll tee -- band tee - vintage",
    "'quoted' words 'here'",
    "foo_bar baz foo_bar baz",
    "Mom\u2019s Café Mug — Gift • Mom\u2019s Café Mug",
    "ΟΔΥΣΣΕΥΣ ΑΣ mug ΑΣ mug",
    "cute mug, cute mug gift for her | cute mug",
    "for the and of",
    "\x00 a b \x01 c d",
    "dog collar dog collar dog collar",
    "",
]


@pytest.mark.parametrize("title", TRICKY_TITLES)
def test_tricky_titles_give_the_reference_phrases(title: str) -> None:
    listings = _listings([title, title, "dog collar, leather dog collar", title.upper()])
    for min_listings in (1, 2):
        assert top_title_phrases(listings, 50, min_listings) == _reference_top_title_phrases(
            listings, 50, min_listings
        )


def test_only_odd_titles_go_through_the_regex(monkeypatch: pytest.MonkeyPatch) -> None:
    # Otherwise the equality tests above could be comparing the regex with itself.
    plain = [
        "Mom's T-Shirt - Gift for Her, Rock-n-Roll Tee",
        "Dog Collar | Leather (Brown) & Gold",
        "it's 3d",
    ]
    odd = ["a -b", "'quoted'", "a--b", "x\t-\ty", "a - - b", "caf\u00e9 mug", "a\x01b"]
    seen: list[str] = []

    class SpyToken:
        def findall(self, text: str) -> list[str]:
            seen.append(text)
            return _REFERENCE_TOKEN.findall(text)

    monkeypatch.setattr(text_module, "_TOKEN", SpyToken())
    tokens = _title_tokens(plain)
    assert seen == []
    assert tokens[:8] == ["mom's", "t-shirt", "\x00", "gift", "for", "her", "\x00", "rock-n-roll"]
    _title_tokens(plain + odd)
    assert sorted(seen) == sorted(title.lower() for title in odd)


def test_tags_with_two_spellings_in_one_listing_count_once() -> None:
    listings = _listings(["t", "t"], [["Gift", "gift ", "mug"], ["gift"]])
    assert top_tags(listings, 5) == ["gift", "mug"] == _reference_top_tags(listings, 5)


def test_tags_containing_newlines_are_split_like_the_reference() -> None:
    listings = _listings(["t", "t"], [["a\nB", "b"], ["A"]])
    assert top_tags(listings, 5) == _reference_top_tags(listings, 5) == ["a", "b"]


# --- the benchmark's keywords -------------------------------------------------------------------------------

_BENCH = Path(__file__).resolve().parents[4] / "bench" / "bench_scoring.py"


@pytest.mark.skipif(not _BENCH.exists(), reason="bench/bench_scoring.py is not in this checkout")
def test_the_benchmark_keywords_give_the_reference_evidence() -> None:
    spec = importlib.util.spec_from_file_location("bench_scoring_for_text_tests", _BENCH)
    assert spec is not None
    assert spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    text = CONFIG.text
    for index in range(bench.KEYWORD_INPUTS):
        scraped, _ = bench.build_keyword_input(index)
        listings = unique_listings(scraped.listings)
        assert top_tags(listings, text.top_tags) == _reference_top_tags(listings, text.top_tags)
        for limit, min_listings in ((text.top_phrases, text.min_phrase_listings), (100, 1), (5, 10)):
            assert top_title_phrases(listings, limit, min_listings) == _reference_top_title_phrases(
                listings, limit, min_listings
            )
