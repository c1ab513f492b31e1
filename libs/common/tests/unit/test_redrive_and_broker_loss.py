"""Pure parts of recovery: when a heartbeat log proves a broker lost records, and how a stage's stored output
round-trips into the events a re-drive re-emits."""

from __future__ import annotations

from etsygen_common import contracts
from etsygen_common.broker_watch import BrokerLoss, loss_between
from etsygen_common.envelope import wrap
from etsygen_common.redrive import decode_results, encode_results, with_attempt


def test_a_log_ending_at_or_below_an_acknowledged_offset_lost_records() -> None:
    assert loss_between(acknowledged=41, end=0)
    assert loss_between(acknowledged=41, end=41)  # offset 41 existed, so the log must end at 42 or later
    assert loss_between(acknowledged=0, end=None)  # the topic itself is gone
    assert not loss_between(acknowledged=41, end=42)
    assert not loss_between(acknowledged=None, end=0)  # nothing acknowledged yet: a new deployment
    assert not loss_between(acknowledged=None, end=None)


def test_the_loss_explains_itself() -> None:
    text = BrokerLoss(topic="etsygen.broker.heartbeat.v1", acknowledged=731, end=0).explanation
    assert "acknowledged heartbeat offset 731" in text
    assert "ends at offset 0" in text
    assert "the topic was gone" in BrokerLoss(topic="t", acknowledged=3, end=None).explanation


def test_a_stored_output_comes_back_as_the_same_events_in_order() -> None:
    scored = contracts.TrendScored(job_id="j", owner_id="o", keyword="mug", score=0.7, snapshot_id="s1")
    rejected = contracts.ProductRejected(
        job_id="j", owner_id="o", keyword="mug", reason="score_too_low", detail="below 0.8", concept_index=1
    )
    emitted = [wrap(scored, source="analyzer"), wrap(rejected, source="generator")]
    assert decode_results(encode_results(emitted)) == [scored, rejected]
    assert decode_results(encode_results([])) == []


def test_a_replayed_event_carries_the_redrives_attempt() -> None:
    scraped = contracts.ListingsScraped(job_id="j", owner_id="o", keyword="mug")
    assert with_attempt(scraped, 2).attempt == 2  # type: ignore[attr-defined]
    generated_like = contracts.ListingPublished(owner_id="o", product_id="p", remote_listing_id=1, shop_id=2)
    assert with_attempt(generated_like, 2) == generated_like  # no attempt field: unchanged
