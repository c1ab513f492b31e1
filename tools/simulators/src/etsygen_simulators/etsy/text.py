"""How the simulator reads words, as a marketplace search does: lower case, split on anything that is not a
letter or digit, stop words dropped, a plural reduced to its singular ("rings" and "ring" match).

This is the simulator's own matching, written for it; the analyzer measures relevance its own way and never
imports this (services never import the simulators).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

STOP_WORDS = frozenset({"a", "an", "and", "by", "for", "in", "of", "on", "or", "the", "to", "with", "my"})
_WORD = re.compile(r"[^\W_]+")


def stem(word: str) -> str:
    """A plural reduced to its singular, simply: ``boxes`` -> ``box``, ``ponies`` -> ``pony``,
    ``rings`` -> ``ring``; ``glass``, ``dress`` and short words stay as they are."""
    if len(word) <= 3 or word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("xes", "ches", "shes", "sses")):
        return word[:-2]
    if word.endswith("s"):
        return word[:-1]
    return word


def terms(text: str) -> tuple[str, ...]:
    """The search terms of ``text`` in order, stemmed, without stop words or repeats."""
    found = (stem(word) for word in _WORD.findall(text.lower()))
    return tuple(dict.fromkeys(word for word in found if word not in STOP_WORDS))


def term_set(texts: Iterable[str]) -> frozenset[str]:
    """Every search term of several texts."""
    return frozenset(term for text in texts for term in terms(text))
