"""Near-duplicates of an owner's existing products: fingerprints, similarity, the owner's index, the guard."""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Final

import msgspec

from etsygen_common.contracts.products import ProductConcept
from etsygen_generator.domain.guards.rejection import GuardRejection
from etsygen_generator.domain.text import singular_word, words

_STOPWORDS: Final = frozenset({"a", "an", "and", "for", "in", "of", "on", "or", "the", "to", "with", "by"})


class ExistingProduct(msgspec.Struct, frozen=True, kw_only=True):
    """What the near-duplicate check needs of a product the owner already has."""

    product_id: str
    title: str
    tags: list[str] = msgspec.field(default_factory=list)


class DuplicateThresholds(msgspec.Struct, frozen=True, kw_only=True):
    """When a concept counts as a near-duplicate (similarities are Jaccard indices in [0, 1])."""

    title: float = 0.8
    """Title similarity at or above which a concept is a duplicate on its own."""
    tags: float = 0.8
    """Tag-set similarity at or above which a concept is a duplicate on its own."""
    combined: float = 0.6
    """A concept is also a duplicate when both similarities reach this."""


class NearDuplicate(msgspec.Struct, frozen=True, kw_only=True):
    """The most similar existing product and how similar it is."""

    product_id: str
    title_similarity: float
    tag_similarity: float

    def describe(self) -> str:
        """One sentence for a rejection detail."""
        return (
            f"near-duplicate of product {self.product_id}: title similarity {self.title_similarity:.2f}, "
            f"tag similarity {self.tag_similarity:.2f}"
        )


class Fingerprint(msgspec.Struct, frozen=True, kw_only=True):
    """An existing product reduced to what similarity compares: its title words and its tag keys.

    Products never change once stored, so a fingerprint can be kept and reused for every later concept of
    the same owner instead of re-tokenising the product each time.
    """

    product_id: str
    title_tokens: frozenset[str]
    tag_keys: frozenset[str]


def fingerprint(product: ExistingProduct) -> Fingerprint:
    """The fingerprint of an existing product."""
    return Fingerprint(
        product_id=product.product_id,
        title_tokens=_title_tokens(product.title),
        tag_keys=_tag_keys(product.tags),
    )


def _jaccard(first: frozenset[str], second: frozenset[str]) -> float:
    if not first and not second:
        return 0.0
    shared = len(first & second)
    return shared / (len(first) + len(second) - shared)  # size of the union, without building it


@functools.lru_cache(maxsize=8192)
def _title_tokens(title: str) -> frozenset[str]:
    # Cached: the duplicate guard compares every new concept with up to hundreds of the owner's products.
    return frozenset(singular_word(word) for word in words(title) if word not in _STOPWORDS)


def _tag_keys(tags: Sequence[str]) -> frozenset[str]:
    return _tag_keys_of(tuple(tags))


@functools.lru_cache(maxsize=8192)
def _tag_keys_of(tags: tuple[str, ...]) -> frozenset[str]:
    keys = {" ".join(singular_word(word) for word in words(tag)) for tag in tags}
    keys.discard("")
    return frozenset(keys)


def title_similarity(first: str, second: str) -> float:
    """Jaccard index of the titles' word sets (folded, singular, stop-words dropped)."""
    return _jaccard(_title_tokens(first), _title_tokens(second))


def tag_similarity(first: Sequence[str], second: Sequence[str]) -> float:
    """Jaccard index of the tag sets (folded, singular)."""
    return _jaccard(_tag_keys(first), _tag_keys(second))


def find_near_duplicate(
    concept: ProductConcept,
    existing: Iterable[ExistingProduct | Fingerprint],
    thresholds: DuplicateThresholds | None = None,
) -> NearDuplicate | None:
    """The most similar existing product that crosses a threshold, or ``None``."""
    limits = thresholds or DuplicateThresholds()
    title_limit, tags_limit, combined_limit = limits.title, limits.tags, limits.combined
    title_tokens = _title_tokens(concept.title)
    tag_keys = _tag_keys(concept.tags)
    best: NearDuplicate | None = None
    best_sum = -1.0
    for product in existing:
        prints = product if isinstance(product, Fingerprint) else fingerprint(product)
        by_title = _jaccard(title_tokens, prints.title_tokens)
        by_tags = _jaccard(tag_keys, prints.tag_keys)
        duplicate = (
            by_title >= title_limit
            or by_tags >= tags_limit
            or (by_title >= combined_limit and by_tags >= combined_limit)
        )
        if duplicate and by_title + by_tags > best_sum:
            best_sum = by_title + by_tags
            best = NearDuplicate(
                product_id=prints.product_id, title_similarity=by_title, tag_similarity=by_tags
            )
    return best


class ProductIndex:
    """The newest products of one owner, indexed by title word and tag key, to find near-duplicate candidates.

    Products come in with a sequence number that grows with every product stored (the ``seq`` column); the
    index keeps the ``limit`` newest. :func:`find_near_duplicate` compares a concept with every product;
    :meth:`candidates` first narrows them to those that could cross a threshold, with a bound that needs
    only counts of shared words: a title similarity ``s / (|T| + |A| - s)`` is at most ``s / |T|`` (the
    shared words ``s`` are at most ``|A|``), so it can reach ``t`` only if ``s >= t * |T|``; the same holds
    for tags. The candidates are then compared exactly, so the answer is the one the full comparison gives.
    """

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self._window: dict[str, tuple[int, Fingerprint]] = {}  # by product id, oldest first
        self._by_word: dict[str, set[str]] = {}
        self._by_tag: dict[str, set[str]] = {}
        self.last_seq = 0
        """Sequence number of the newest product the index has seen (0: none)."""

    def __len__(self) -> int:
        return len(self._window)

    def extend(self, products: Iterable[tuple[int, Fingerprint]]) -> None:
        """Add products newer than :attr:`last_seq`, oldest first, dropping the oldest beyond the limit."""
        for seq, prints in sorted(products, key=lambda product: product[0]):
            if seq <= self.last_seq or prints.product_id in self._window:
                continue
            self._add(seq, prints)
            self.last_seq = seq
        while len(self._window) > self.limit:
            self._remove(next(iter(self._window)))

    def _add(self, seq: int, prints: Fingerprint) -> None:
        self._window[prints.product_id] = (seq, prints)
        for word in prints.title_tokens:
            self._by_word.setdefault(word, set()).add(prints.product_id)
        for key in prints.tag_keys:
            self._by_tag.setdefault(key, set()).add(prints.product_id)

    def _remove(self, product_id: str) -> None:
        _, prints = self._window.pop(product_id)
        for postings, keys in ((self._by_word, prints.title_tokens), (self._by_tag, prints.tag_keys)):
            for key in keys:
                holders = postings[key]
                holders.discard(product_id)
                if not holders:
                    del postings[key]

    def candidates(
        self, concept: ProductConcept, thresholds: DuplicateThresholds, *, newest: int | None = None
    ) -> list[Fingerprint]:
        """The products, newest first, that could be near-duplicates of ``concept`` (a superset of those that
        are), among the ``newest`` newest (default: all the index holds)."""
        title_tokens = _title_tokens(concept.title)
        tag_keys = _tag_keys(concept.tags)
        need_title = min(thresholds.title, thresholds.combined) * len(title_tokens) - _EPSILON
        need_tags = min(thresholds.tags, thresholds.combined) * len(tag_keys) - _EPSILON
        if need_title <= 0 or need_tags <= 0:
            found: Iterable[str] = self._window  # the bound says nothing: every product is a candidate
        else:
            found = _at_least(self._by_word, title_tokens, need_title) | _at_least(
                self._by_tag, tag_keys, need_tags
            )
        window = self._window
        ranked = sorted((window[product_id] for product_id in found), key=lambda entry: -entry[0])
        oldest_seq = self._oldest_seq_among(newest)
        return [prints for seq, prints in ranked if seq >= oldest_seq]

    def _oldest_seq_among(self, newest: int | None) -> int:
        if newest is None or newest >= len(self._window):
            return 0
        if newest <= 0:
            return self.last_seq + 1  # none of them
        seqs = [seq for seq, _ in self._window.values()]  # ascending
        return seqs[len(seqs) - newest]


class PendingProducts:
    """An owner's products as one transaction sees them: the index, plus the products the transaction stored.

    :meth:`commit` hands those to the index once the transaction committed; if it rolls back they are dropped.
    """

    def __init__(self, index: ProductIndex) -> None:
        self.index = index
        self._stored: list[tuple[int, Fingerprint]] = []  # oldest first

    def add(self, seq: int, prints: Fingerprint) -> None:
        """A product stored in this transaction."""
        self._stored.append((seq, prints))

    def candidates(self, concept: ProductConcept, thresholds: DuplicateThresholds) -> list[Fingerprint]:
        """Near-duplicate candidates among the owner's ``index.limit`` newest products, newest first."""
        limit = self.index.limit
        stored = [prints for _, prints in reversed(self._stored)][:limit]
        return stored + self.index.candidates(concept, thresholds, newest=limit - len(stored))

    def commit(self) -> None:
        """The transaction committed: the index learns its products."""
        self.index.extend(self._stored)
        self._stored = []


_EPSILON: Final = 1e-9


def _at_least(postings: dict[str, set[str]], keys: frozenset[str], need: float) -> set[str]:
    """Products sharing at least ``need`` of ``keys``."""
    counts: Counter[str] = Counter()
    for key in keys:
        holders = postings.get(key)
        if holders:
            counts.update(holders)
    return {product_id for product_id, shared in counts.items() if shared >= need}


def check_near_duplicate(
    concept: ProductConcept,
    existing: Iterable[ExistingProduct | Fingerprint],
    thresholds: DuplicateThresholds | None = None,
) -> GuardRejection | None:
    """Reject a concept too similar to one of the owner's existing products."""
    duplicate = find_near_duplicate(concept, existing, thresholds)
    if duplicate is None:
        return None
    return GuardRejection(reason="guard_failed", detail=duplicate.describe(), product_id=duplicate.product_id)
