""" "Why this score": each factor of a trend with its value, input, weight and share of the score."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from etsygen_common.contracts import FactorScore


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


def explain(factors: Sequence[FactorScore]) -> list[FactorExplanation]:
    """Explain every factor, largest contribution first."""
    total_weight = sum(max(0.0, f.weight) for f in factors) or 1.0
    out = []
    for f in factors:
        contribution = max(0.0, f.weight) * f.value / total_weight
        shown_input = "n/a" if f.input is None else f"{f.input:g}"
        estimated = "" if f.measured else " (estimated)"
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
                    f"{f.name}: {f.input_label} = {shown_input}{estimated} scores {f.value:.2f}, "
                    f"weight {f.weight:g}, contributing {contribution:.3f}"
                ),
            )
        )
    return sorted(out, key=lambda e: e.contribution, reverse=True)
