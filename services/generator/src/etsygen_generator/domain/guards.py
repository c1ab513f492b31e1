"""Guards a concept must pass before it is stored: brands, near-duplicates, score/risk gate, AI budget.

Each check is a pure function returning ``None`` (pass) or a :class:`GuardRejection` whose ``reason`` is one
of :class:`~etsygen_common.contracts.products.ProductRejected`'s reasons, so the handler can publish it as is.
The only I/O here is reading the starter blocklist that ships inside the package.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from importlib import resources
from typing import Final, Literal

import msgspec

from etsygen_common.contracts.products import ProductConcept
from etsygen_common.contracts.trends import Risk, TrendScored
from etsygen_generator.domain.text import fold, singular_word, words

RejectReason = Literal[
    "risk_too_high",
    "score_too_low",
    "guard_failed",
    "budget_exceeded",
    "generation_disabled",
    "upstream_failed",
]

RISK_ORDER: Final[dict[str, int]] = {"low": 0, "medium": 1, "high": 2}
STARTER_BLOCKLIST: Final = "brand_blocklist.txt"


class GuardRejection(msgspec.Struct, frozen=True, kw_only=True):
    """Why a concept (or the attempt to make one) was stopped; maps onto ``ProductRejected``."""

    reason: RejectReason
    detail: str


# --- brand / trademark blocklist --------------------------------------------------------------------------

# Between the words of a term: nothing, spaces, hyphens, underscores, apostrophes or dots, so "spider-man",
# "spider man" and "spiderman" are one term. After it: an optional plural or possessive.
_JOINER: Final = "[\\s\\-_'\u2019.]*"
_TERM_TOKEN: Final = re.compile(r"[^\W_]+")
_REFERENCE_BEFORE: Final = re.compile(r"inspired\s+by\s*$")
_REFERENCE_AFTER: Final = re.compile(r"^[\s\-]*(?:inspired|style|styled|themed|look\s*alike|dupe)\b")
_SEPARATORS: Final = re.compile(_JOINER[:-1] + "+")
"""What may stand between the words of a term (the joiner's characters), removed to test containment."""
_PREFIX: Final = 3
"""Letters of a term's first word that index it (shorter words index by all their letters)."""


class BrandMatch(msgspec.Struct, frozen=True, kw_only=True):
    """A blocklisted term found in a concept."""

    term: str
    field: str
    excerpt: str
    reference: bool = False
    """True for "inspired by X", "X style", "X-inspired" and the like, which count as uses of X."""

    def describe(self) -> str:
        """One sentence for a rejection detail."""
        how = " (a reference such as 'inspired by' or 'style' still uses the mark)" if self.reference else ""
        return f"trademarked term {self.term!r} in {self.field}: {self.excerpt!r}{how}"


def parse_blocklist(text: str) -> list[str]:
    """Terms from a blocklist file's text: one per line, '#' comments and blank lines ignored."""
    terms: list[str] = []
    for line in text.splitlines():
        term = line.split("#", 1)[0].strip()
        if term:
            terms.append(term)
    return terms


def load_starter_terms() -> list[str]:
    """The starter blocklist shipped in ``etsygen_generator/data``."""
    data = resources.files("etsygen_generator").joinpath("data", STARTER_BLOCKLIST)
    return parse_blocklist(data.read_text(encoding="utf-8"))


def _term_pattern(term: str) -> re.Pattern[str] | None:
    tokens = _TERM_TOKEN.findall(fold(term))
    if not tokens:
        return None
    body = _JOINER.join(re.escape(token) for token in tokens)
    return re.compile(rf"(?<![^\W_]){body}(?:['\u2019]?s|es)?(?![^\W_])")


class BrandBlocklist:
    """Compiled blocklist; matches case-insensitively, accent-insensitively, on word boundaries.

    A term can only match where a word of the text starts with the first letters of the term's first word
    (its pattern begins at a word boundary with that word), so every scan first looks up the text's words in
    an index of those prefixes and runs only the patterns of the terms found there. For most concepts that
    is none: one pass over the words instead of a hundred regex scans.
    """

    def __init__(self, terms: Iterable[str]) -> None:
        patterns: dict[str, re.Pattern[str]] = {}
        for term in terms:
            key = " ".join(_TERM_TOKEN.findall(fold(term)))
            pattern = _term_pattern(term)
            if pattern is not None and key not in patterns:
                patterns[key] = pattern
        self._patterns = patterns
        by_prefix: dict[str, list[str]] = {}
        for key in patterns:
            by_prefix.setdefault(key.split(" ", 1)[0][:_PREFIX], []).append(key)
        self._by_prefix = by_prefix
        self._prefix_lengths = sorted({len(prefix) for prefix in by_prefix})
        self._joined = {key: key.replace(" ", "") for key in patterns}

    @classmethod
    def starter(cls, *, extra_terms: Iterable[str] = (), allowed_terms: Iterable[str] = ()) -> BrandBlocklist:
        """The shipped starter list plus ``extra_terms``, minus ``allowed_terms`` (e.g. a licensed brand)."""
        allowed = {" ".join(_TERM_TOKEN.findall(fold(term))) for term in allowed_terms}
        terms = [*load_starter_terms(), *extra_terms]
        return cls(term for term in terms if " ".join(_TERM_TOKEN.findall(fold(term))) not in allowed)

    @property
    def terms(self) -> list[str]:
        """Normalised terms, in load order."""
        return list(self._patterns)

    def __len__(self) -> int:
        return len(self._patterns)

    def candidates(self, folded: str) -> list[str]:
        """Terms that could match the folded text; never misses one that does, may name some that do not.

        Two necessary conditions, both cheap: a word of the text starts with the first letters of the term's
        first word (a match starts at a word boundary with that word), and the term's words written together
        occur in the text once separators are removed (a match is the term's words with only separators
        between them, e.g. "spider-man" or "spiderman" for "spider man").
        """
        by_prefix = self._by_prefix
        lengths = self._prefix_lengths
        found: set[str] = set()
        for word in set(_TERM_TOKEN.findall(folded)):
            for length in lengths:
                keys = by_prefix.get(word[:length])
                if keys is not None:
                    found.update(keys)
        if not found:
            return []
        compact = _SEPARATORS.sub("", folded)
        joined = self._joined
        return [key for key in self._patterns if key in found and joined[key] in compact]  # load order

    def contains(self, text: str) -> bool:
        """Whether any blocklisted term occurs in ``text``."""
        folded = fold(text)
        patterns = self._patterns
        return any(patterns[term].search(folded) for term in self.candidates(folded))

    def scan(self, text: str, field: str, *, terms: Sequence[str] | None = None) -> list[BrandMatch]:
        """Every blocklisted term in ``text`` (only ``terms``, when given: candidates found beforehand)."""
        folded = fold(text)
        found: list[BrandMatch] = []
        for term in self.candidates(folded) if terms is None else terms:
            for match in self._patterns[term].finditer(folded):
                start, end = match.span()
                reference = bool(
                    _REFERENCE_BEFORE.search(folded[max(0, start - 20) : start])
                    or _REFERENCE_AFTER.search(folded[end : end + 20])
                )
                excerpt = folded[max(0, start - 15) : end + 15].strip()
                found.append(BrandMatch(term=term, field=field, excerpt=excerpt, reference=reference))
        return found

    def find(self, concept: ProductConcept) -> list[BrandMatch]:
        """Every blocklisted term in the concept's title, tags, description, materials and styles."""
        everything = "\n".join(
            [concept.title, *concept.tags, concept.description, *concept.materials, *concept.styles]
        )
        terms = self.candidates(fold(everything))
        if not terms:
            return []
        found = self.scan(concept.title, "title", terms=terms)
        for index, tag in enumerate(concept.tags):
            found += self.scan(tag, f"tags[{index}]", terms=terms)
        found += self.scan(concept.description, "description", terms=terms)
        for index, material in enumerate(concept.materials):
            found += self.scan(material, f"materials[{index}]", terms=terms)
        for index, style in enumerate(concept.styles):
            found += self.scan(style, f"styles[{index}]", terms=terms)
        return found


def without_brand_evidence(trend: TrendScored, blocklist: BrandBlocklist) -> TrendScored:
    """The trend with blocklisted terms removed from its top tags, title phrases and evidence phrases.

    Niches on Etsy are full of other people's trademarks; a provider should not be handed them as the
    vocabulary to write with. (A keyword that is itself a brand still fails :func:`check_brands` later.)
    """
    tags = [t for t in trend.top_tags if not blocklist.contains(t)]
    phrases = [p for p in trend.top_title_phrases if not blocklist.contains(p)]
    evidence = trend.evidence
    if evidence is not None:
        kept = [term for term in evidence.phrases if not blocklist.contains(term.term)]
        if len(kept) != len(evidence.phrases):
            evidence = msgspec.structs.replace(evidence, phrases=kept)
    if (
        len(tags) == len(trend.top_tags)
        and len(phrases) == len(trend.top_title_phrases)
        and evidence is trend.evidence
    ):
        return trend
    return msgspec.structs.replace(trend, top_tags=tags, top_title_phrases=phrases, evidence=evidence)


def check_brands(concept: ProductConcept, blocklist: BrandBlocklist) -> GuardRejection | None:
    """Reject a concept that uses a blocklisted brand or character anywhere a shopper would see it."""
    matches = blocklist.find(concept)
    if not matches:
        return None
    details = "; ".join(match.describe() for match in matches[:5])
    more = f" (and {len(matches) - 5} more)" if len(matches) > 5 else ""
    return GuardRejection(reason="guard_failed", detail=f"brand blocklist: {details}{more}")


# --- near-duplicates of the owner's existing products ------------------------------------------------------

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
    return GuardRejection(reason="guard_failed", detail=duplicate.describe())


def check_concept(
    concept: ProductConcept,
    *,
    blocklist: BrandBlocklist,
    existing: Iterable[ExistingProduct | Fingerprint] = (),
    thresholds: DuplicateThresholds | None = None,
) -> GuardRejection | None:
    """Brand blocklist first, then near-duplicates; the first failure wins."""
    return check_brands(concept, blocklist) or check_near_duplicate(concept, existing, thresholds)


# --- which niches get concepts at all -----------------------------------------------------------------------


def check_score_and_risk(
    score: float, risk: Risk | str, *, min_score: float, max_risk: Risk | str
) -> GuardRejection | None:
    """Reject a niche riskier than ``max_risk`` or scoring below ``min_score``; unknown risk ranks high."""
    risk_rank = RISK_ORDER.get(risk, RISK_ORDER["high"])
    if risk_rank > RISK_ORDER.get(max_risk, RISK_ORDER["high"]):
        return GuardRejection(reason="risk_too_high", detail=f"risk {risk} is above the allowed {max_risk}")
    if not score >= min_score:  # written so a NaN score is rejected too
        return GuardRejection(reason="score_too_low", detail=f"score {score:.3f} is below {min_score:.3f}")
    return None


def check_trend(trend: TrendScored) -> GuardRejection | None:
    """Whether a trend should get concepts: upstream status, the job's switch, then score and risk."""
    if trend.status != "ok":
        return GuardRejection(
            reason="upstream_failed", detail=trend.error or "the analyzer reported a failure"
        )
    if not trend.generation_enabled or trend.concepts_per_niche < 1:
        return GuardRejection(reason="generation_disabled", detail="generation is disabled for this job")
    return check_score_and_risk(trend.score, trend.risk, min_score=trend.min_score, max_risk=trend.max_risk)


# --- per-owner daily AI budget ------------------------------------------------------------------------------


class AIBudget(msgspec.Struct, frozen=True, kw_only=True):
    """An owner's daily AI allowance; ``None`` means no limit."""

    max_tokens_per_day: int | None = None
    max_cost_usd_per_day: float | None = None


class AIUsage(msgspec.Struct, frozen=True, kw_only=True):
    """What an owner has used today."""

    tokens: int = 0
    cost_usd: float = 0.0


def check_budget(
    used: AIUsage,
    budget: AIBudget,
    *,
    expected_tokens: int = 0,
    expected_cost_usd: float = 0.0,
) -> GuardRejection | None:
    """Reject when today's usage has reached a limit, or would pass it with the expected next call."""
    tokens_limit = budget.max_tokens_per_day
    if tokens_limit is not None and (
        used.tokens >= tokens_limit or used.tokens + expected_tokens > tokens_limit
    ):
        return GuardRejection(
            reason="budget_exceeded",
            detail=(
                f"daily AI token budget: {used.tokens} used + {expected_tokens} expected "
                f"of {tokens_limit} allowed"
            ),
        )
    cost_limit = budget.max_cost_usd_per_day
    if cost_limit is not None and (
        used.cost_usd >= cost_limit or used.cost_usd + expected_cost_usd > cost_limit
    ):
        return GuardRejection(
            reason="budget_exceeded",
            detail=(
                f"daily AI cost budget: ${used.cost_usd:.4f} used + ${expected_cost_usd:.4f} expected "
                f"of ${cost_limit:.2f} allowed"
            ),
        )
    return None
