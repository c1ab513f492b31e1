""" "Why this score": each factor of a trend with its value, input, weight and share of the score."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from etsygen_common.contracts import FactorScore
from etsygen_common.numbers import human_number


class FactorExplanation(msgspec.Struct, frozen=True, kw_only=True):
    """One factor: what it measured, how it scored, and how much of the total it contributes."""

    name: str
    value: float
    """The factor's score in [0, 1]."""
    weight: float
    input: float | None
    input_label: str
    measured: bool
    contribution: float
    """``weight * value / sum(weights)``: the points of the total score this factor supplies."""
    sentence: str
    explanation: str = ""
    """What the input means for a seller, in words (the analyzer's; empty for trends scored before it)."""


def explain(factors: Sequence[FactorScore]) -> list[FactorExplanation]:
    """Explain every factor, largest contribution first."""
    total_weight = sum(max(0.0, f.weight) for f in factors) or 1.0
    out = []
    for f in factors:
        contribution = max(0.0, f.weight) * f.value / total_weight
        shown_input = "n/a" if f.input is None else human_number(f.input)
        estimated = "" if f.measured else " (estimated)"
        what = f.explanation or f"{f.input_label} = {shown_input}{estimated}"
        out.append(
            FactorExplanation(
                name=f.name,
                value=f.value,
                weight=f.weight,
                input=f.input,
                input_label=f.input_label,
                measured=f.measured,
                contribution=round(contribution, 6),
                sentence=(
                    f"{f.name}: {what} scores {f.value:.2f}, weight {f.weight:g}, "
                    f"contributing {contribution:.3f}"
                ),
                explanation=f.explanation,
            )
        )
    return sorted(out, key=lambda e: e.contribution, reverse=True)
