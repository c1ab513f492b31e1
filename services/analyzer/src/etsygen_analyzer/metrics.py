"""Analyzer metrics (declared in :mod:`etsygen_common.catalogue`; ``service`` is always ``analyzer``)."""

from __future__ import annotations

from typing import Final

from etsygen_common.catalogue import histogram

SERVICE: Final = "analyzer"
OWNERS: Final = (SERVICE,)
RISKS: Final = ("low", "medium", "high")

SCORES = histogram(
    "etsygen_analyzer_score",
    "Distribution of niche scores",
    unit="score (0-1)",
    owners=OWNERS,
    buckets=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0),
)
ANALYSIS_SECONDS = histogram(
    "etsygen_analyzer_analysis_seconds", "Time to score and store one keyword", unit="seconds", owners=OWNERS
)
REVENUE = histogram(
    "etsygen_analyzer_estimated_monthly_revenue",
    "Estimated monthly revenue of each researched niche (midpoint of the estimate's range: an estimate, "
    "not a measurement), by the niche's risk; _sum is the total over the niches researched",
    unit="currency units per month",
    owners=OWNERS,
    labels={
        "risk": RISKS,
        "currency": "ISO 4217 code of the niche's main listing currency (a currency Etsy supports)",
    },
    buckets=(100, 250, 500, 1000, 2500, 5000, 10_000, 25_000, 50_000, 100_000, 250_000),
    note="Series appear with the first niche scored in a currency.",
)
