"""The analyzer's event mapping: a scored or failed scrape as ``TrendScored``, and when data was observed."""

from __future__ import annotations

import msgspec
from analyzer_builders import NOW, reference_niche

from etsygen_analyzer.domain.config import default_config
from etsygen_analyzer.domain.evidence import SAMPLE_LISTINGS
from etsygen_analyzer.domain.scoring import score_niche
from etsygen_analyzer.domain.trends import failed_trend_scored, observed_at, to_trend_scored
from etsygen_common.contracts import GenerationOptions
from etsygen_common.contracts.listings import FetchMetadata


def test_a_failed_scrape_becomes_a_failed_trend_that_generates_nothing() -> None:
    failed = msgspec.structs.replace(reference_niche(), status="failed", error=None, attempt=2)
    trend = failed_trend_scored(failed)
    assert trend.status == "failed"
    assert trend.error == "scrape failed"
    assert trend.generation_enabled is False
    assert (trend.job_id, trend.keyword, trend.attempt) == ("job-1", "dog collar", 2)


def test_the_jobs_generation_options_and_the_assessment_reach_the_trend() -> None:
    options = GenerationOptions(concepts_per_niche=3, min_score=0.7, max_risk="low")
    scraped = msgspec.structs.replace(reference_niche(), generation=options)
    result = score_niche(scraped, default_config(), observed_at=NOW)
    trend = to_trend_scored(scraped, result, snapshot_id="trend-1")
    assert (trend.concepts_per_niche, trend.min_score, trend.max_risk) == (3, 0.7, "low")
    assert (trend.score, trend.confidence, trend.risk) == (result.score, result.confidence, result.risk)
    assert trend.top_tags == result.top_tags
    assert trend.snapshot_id == "trend-1"
    assert trend.synthetic is False


def test_a_scrape_without_generation_options_gets_the_defaults() -> None:
    result = score_niche(reference_niche(), default_config(), observed_at=NOW)
    trend = to_trend_scored(reference_niche(), result, snapshot_id="trend-1")
    defaults = GenerationOptions()
    assert (trend.generation_enabled, trend.concepts_per_niche) == (
        defaults.enabled,
        defaults.concepts_per_niche,
    )


def test_the_data_is_dated_by_the_fetch_end_or_else_by_its_receipt() -> None:
    fetched = msgspec.structs.replace(
        reference_niche(),
        fetch=FetchMetadata(
            api_calls=3, started_at="2026-01-01T00:00:00+00:00", finished_at="2026-01-01T00:00:09+00:00"
        ),
    )
    assert observed_at(fetched, received_at=5.0) == NOW + 9
    illegible = msgspec.structs.replace(
        fetched, fetch=FetchMetadata(api_calls=3, started_at="?", finished_at="yesterday")
    )
    assert observed_at(illegible, received_at=5.0) == 5.0
    assert observed_at(reference_niche(), received_at=5.0) == 5.0


def test_a_niche_the_generator_will_take_carries_the_evidence_of_its_relevant_listings() -> None:
    scraped = msgspec.structs.replace(
        reference_niche(), generation=GenerationOptions(min_score=0.0, max_risk="high")
    )
    result = score_niche(scraped, default_config(), observed_at=NOW)
    trend = to_trend_scored(scraped, result, snapshot_id="trend-1")
    assert trend.evidence is not None
    assert trend.evidence.listings == min(result.relevance.relevant_listings, SAMPLE_LISTINGS)


def test_a_niche_the_gate_refuses_carries_no_evidence() -> None:
    refused = [
        GenerationOptions(enabled=False),
        GenerationOptions(min_score=1.01),  # no score reaches it
    ]
    for options in refused:
        scraped = msgspec.structs.replace(reference_niche(), generation=options)
        result = score_niche(scraped, default_config(), observed_at=NOW)
        assert to_trend_scored(scraped, result, snapshot_id="t").evidence is None, options
