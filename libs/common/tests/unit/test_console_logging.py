"""The development console (``LOG_FORMAT=console``): one plain line per record, named by service."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from etsygen_common import logging as etsygen_logging
from etsygen_common.logging import ConsoleFormatter, JsonFormatter


@pytest.fixture(autouse=True)
def service_name() -> Iterator[None]:
    before = etsygen_logging._service
    etsygen_logging._service = "gateway"
    yield
    etsygen_logging._service = before


def uvicorn_start_record() -> logging.LogRecord:
    """What uvicorn logs when it starts serving: a colourised copy of the message rides along as an extra."""
    return logging.makeLogRecord(
        {
            "name": "uvicorn.error",
            "levelno": logging.INFO,
            "levelname": "INFO",
            "msg": "Uvicorn running on %s://%s:%d (Press CTRL+C to quit)",
            "args": ("http", "127.0.0.1", 8000),
            "color_message": "Uvicorn running on \x1b[1m%s://%s:%d\x1b[0m (Press CTRL+C to quit)",
        }
    )


def test_a_uvicorn_record_is_one_plain_line_under_its_own_name() -> None:
    line = ConsoleFormatter().format(uvicorn_start_record())
    assert line == "gateway   INFO uvicorn: Uvicorn running on http://127.0.0.1:8000 (Press CTRL+C to quit)"


def test_escape_codes_and_newlines_in_fields_do_not_reach_the_console() -> None:
    record = logging.makeLogRecord(
        {
            "name": "etsygen_gateway.jobs",
            "levelno": logging.WARNING,
            "levelname": "WARNING",
            "msg": "job \x1b[31mfailed\x1b[0m\nretrying",
            "keyword": "\x1b[32mmoon lamp\x1b[0m",
            "attempt": 2,
        }
    )
    line = ConsoleFormatter().format(record)
    assert "\x1b" not in line
    assert "\n" not in line
    assert line == 'gateway   WARN etsygen_gateway.jobs: job failed\\nretrying keyword="moon lamp" attempt=2'


def test_json_lines_drop_the_colour_copy_too() -> None:
    data = json.loads(JsonFormatter().format(uvicorn_start_record()))
    assert data["logger"] == "uvicorn"
    assert "color_message" not in data
    assert data["msg"] == "Uvicorn running on http://127.0.0.1:8000 (Press CTRL+C to quit)"
