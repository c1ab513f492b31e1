"""Cursors, CSV export, factor explanations, health scoring and dead-letter replay headers."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

import msgspec
import pytest
from gateway_testkit import generated, scored
from hypothesis import given, settings
from hypothesis import strategies as st

from etsygen_common.contracts import FactorScore
from etsygen_gateway.domain.deadletters import from_record, replay_headers
from etsygen_gateway.domain.export import COLUMNS, header_line, row_line, safe_cell
from etsygen_gateway.domain.health import summarize
from etsygen_gateway.domain.pagination import (
    RESOURCE_ID,
    UUID_ID,
    Cursor,
    CursorError,
    cursor_pattern,
    decode_cursor,
    encode_cursor,
)
from etsygen_gateway.domain.trends import explain


def test_a_cursor_round_trips_and_refuses_another_ordering() -> None:
    token = encode_cursor(Cursor(sort="-score", value=0.5, id="abc"))
    assert decode_cursor(token, "-score") == Cursor(sort="-score", value=0.5, id="abc")
    with pytest.raises(CursorError):
        decode_cursor(token, "created")
    with pytest.raises(CursorError):
        decode_cursor("%%%not-base64", "created")


@pytest.mark.parametrize(
    ("sort", "value", "ids"),
    [
        ("-score", 1e-05, None),
        ("score", 0.30000000000000004, None),
        ("-created", datetime(2026, 12, 6, 22, 30, 25, 123456, tzinfo=UTC), None),
        ("created", datetime(1970, 1, 1, tzinfo=UTC), UUID_ID),
    ],
)
def test_every_cursor_the_api_writes_matches_the_declared_grammar(
    sort: str, value: float | datetime, ids: str | None
) -> None:
    item = "0b1c2d3e-0000-4000-8000-000000000000" if ids else "trend:mug.1"
    token = encode_cursor(Cursor(sort=sort, value=value, id=item))
    pattern = cursor_pattern([sort], ids or RESOURCE_ID)
    assert re.search(pattern, token), token
    assert decode_cursor(token, sort, *([ids] if ids else [])) == Cursor(sort=sort, value=value, id=item)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["created", "-created", "score", "-score"]).flatmap(
        lambda sort: st.tuples(st.just(sort), st.from_regex(cursor_pattern([sort])))
    )
)
def test_every_cursor_of_the_declared_grammar_is_a_position(sort_and_token: tuple[str, str]) -> None:
    sort, token = sort_and_token
    cursor = decode_cursor(token, sort)  # never CursorError: the document allows it
    assert isinstance(cursor.value, float if sort.endswith("score") else datetime)


def test_cells_that_spreadsheets_would_evaluate_are_defused() -> None:
    assert safe_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert safe_cell("-10") == "'-10"
    assert safe_cell("Mug") == "Mug"


def test_a_product_becomes_one_row_in_etsy_columns() -> None:
    product = generated("j", "o", "mug", title="@Mug =1+1")
    rows = list(csv.reader(io.StringIO(header_line() + row_line(product))))
    assert rows[0] == list(COLUMNS)
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["TITLE"] == "'@Mug =1+1"
    assert row["PRICE"] == "24.50"
    assert row["TAGS"] == "custom mug,name mug,gift for her"
    assert row["WHO_MADE"] == "i_did"


def test_factors_are_explained_largest_contribution_first() -> None:
    explained = explain(scored("j", "o", "mug").factors)
    assert [f.name for f in explained] == ["demand", "competition", "price"]
    assert explained[0].contribution == pytest.approx(0.9 * 0.4)
    assert "est. sales per month = 320" in explained[0].sentence
    assert "(estimated)" in explained[2].sentence


def test_a_factor_reads_in_words_with_numbers_rounded_for_people() -> None:
    raw = FactorScore(name="competition", value=0.97, weight=0.15, input=22.255000000000003, input_label="x")
    assert "= 22 scores" in explain([raw])[0].sentence
    worded = msgspec.structs.replace(
        raw, explanation="about 22 active listings per monthly sale: little competition"
    )
    explained = explain([worded])[0]
    assert explained.explanation == worded.explanation
    assert explained.sentence.startswith(
        "competition: about 22 active listings per monthly sale: little competition"
    )
    assert "22.255" not in explained.sentence


def test_health_score_weights_components_and_postgres_down_is_down() -> None:
    ok = summarize({"postgres": ("ok", "", 1.0), "redis": ("ok", "", 1.0)}, "now")
    assert ok.score == 1.0
    assert ok.status == "ok"
    degraded = summarize({"postgres": ("ok", "", 1.0), "redis": ("down", "refused", None)}, "now")
    assert 0 < degraded.score < 1
    assert degraded.status == "degraded"
    down = summarize({"postgres": ("down", "", None), "redis": ("ok", "", 1.0)}, "now")
    assert down.status == "down"


def test_a_dead_letter_is_identified_by_its_original_position_and_group() -> None:
    headers = {
        "ce_id": "e1",
        "x-dlq-original-topic": "etsygen.trends.scored.v1",
        "x-dlq-original-partition": "2",
        "x-dlq-original-offset": "41",
        "x-dlq-consumer-group": "etsygen-generator",
        "x-dlq-attempts": "4",
        "x-dlq-last-failure-time": "2026-01-01T00:00:00.000Z",
    }
    letter = from_record(
        headers, dlq_topic="etsygen.deadletter.v1", partition=0, offset=7, key=b"k", body=b"\xff"
    )
    assert (letter.original_topic, letter.original_partition, letter.original_offset) == (
        "etsygen.trends.scored.v1",
        2,
        41,
    )
    assert letter.consumer_group == "etsygen-generator"
    assert letter.attempts == 4
    assert letter.body == b"\xff"


def test_a_record_without_failure_headers_is_identified_by_its_dead_letter_position() -> None:
    letter = from_record({}, dlq_topic="etsygen.deadletter.v1", partition=1, offset=9, key=None, body=b"x")
    assert (letter.original_topic, letter.original_partition, letter.original_offset) == (
        "etsygen.deadletter.v1",
        1,
        9,
    )
    assert letter.consumer_group == "unknown"


def test_replay_headers_drop_failure_bookkeeping_and_mark_the_replay() -> None:
    headers = {"ce_id": "e1", "traceparent": "00-x", "x-dlq-attempts": "4", "x-retry-attempt": "3"}
    out = replay_headers(headers, dead_letter_id=12, replay_count=2)
    assert out == {"ce_id": "e1", "traceparent": "00-x", "x-replay-of": "12", "x-replay-count": "2"}
