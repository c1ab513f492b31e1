"""The brand and trademark blocklist: terms a concept must not use, and the guard that applies it.

The only I/O here is reading the starter blocklist that ships inside the package.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from importlib import resources
from typing import Final

import msgspec

from etsygen_common.contracts.products import ProductConcept
from etsygen_common.contracts.trends import TrendScored
from etsygen_generator.domain.guards.rejection import GuardRejection
from etsygen_generator.domain.text import fold

STARTER_BLOCKLIST: Final = "brand_blocklist.txt"

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
