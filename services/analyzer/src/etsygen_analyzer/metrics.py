"""Analyzer metrics."""

from __future__ import annotations

from prometheus_client import Histogram

SCORES = Histogram(
    "etsygen_analyzer_score",
    "Distribution of niche scores",
    buckets=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0),
)
ANALYSIS_SECONDS = Histogram("etsygen_analyzer_analysis_seconds", "Time to score and store one keyword")
