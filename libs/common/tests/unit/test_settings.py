"""Settings: a missing or invalid value names the variable and the expected form."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from etsygen_common.settings import CommonSettings, SettingsError

VALID = {
    "DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/etsygen",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092",
}


def test_valid_environment_builds_every_section() -> None:
    settings = CommonSettings.from_env({**VALID, "KAFKA_PARTITIONS": "12", "LOG_LEVEL": "DEBUG"})
    assert settings.kafka.partitions == 12
    assert settings.telemetry.log_level == "DEBUG"
    assert settings.postgres.pool_max == 10


@pytest.mark.parametrize(("value", "acks"), [(None, "all"), ("all", "all"), ("1", 1), ("0", 0)])
def test_producer_acks_default_to_all(value: str | None, acks: int | str) -> None:
    env = VALID if value is None else {**VALID, "KAFKA_ACKS": value}
    assert CommonSettings.from_env(env).kafka.producer_acks == acks


@pytest.mark.parametrize("missing", sorted(VALID))
def test_missing_variable_is_named(missing: str) -> None:
    env = {k: v for k, v in VALID.items() if k != missing}
    with pytest.raises(SettingsError, match=rf"^{missing} is not set; expected"):
        CommonSettings.from_env(env)


@pytest.mark.parametrize(
    ("var", "value", "expected"),
    [
        ("KAFKA_PARTITIONS", "zero", "KAFKA_PARTITIONS is invalid"),
        ("KAFKA_PARTITIONS", "0", r"KAFKA_PARTITIONS is invalid .*ge 1"),
        ("DATABASE_URL", "mysql://x", r"DATABASE_URL is invalid .*postgres"),
        ("LOG_LEVEL", "LOUD", r"LOG_LEVEL is invalid .*one of 'DEBUG'"),
        ("OUTBOX_POLL_INTERVAL_S", "-1", "OUTBOX_POLL_INTERVAL_S is invalid"),
        ("KAFKA_ACKS", "2", r"KAFKA_ACKS is invalid .*one of 'all', '1', '0'"),
    ],
)
def test_invalid_value_names_variable_and_form(var: str, value: str, expected: str) -> None:
    with pytest.raises(SettingsError, match=expected):
        CommonSettings.from_env({**VALID, var: value})


def test_cli_exits_non_zero_naming_the_variable() -> None:
    env = {
        k: v for k, v in os.environ.items() if k not in VALID and not k.startswith(("KAFKA_", "DATABASE_"))
    }
    env.update({**VALID, "KAFKA_PARTITIONS": "many", "ETSYGEN_ENV_FILE": "/nonexistent/.env"})
    proc = subprocess.run(
        [sys.executable, "-m", "etsygen_cli.main", "migrate", "analyzer"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert "KAFKA_PARTITIONS is invalid" in proc.stderr


def test_cli_names_a_missing_variable() -> None:
    env = {k: v for k, v in os.environ.items() if k not in VALID}
    env["ETSYGEN_ENV_FILE"] = "/nonexistent/.env"
    proc = subprocess.run(
        [sys.executable, "-m", "etsygen_cli.main", "run", "analyzer"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert "DATABASE_URL is not set" in proc.stderr


def test_runtime_tuning_defaults_and_bounds() -> None:
    """The collector threshold (``runtime.settle_heap``) and the consumers' fetch wait."""
    settings = CommonSettings.from_env(VALID)
    assert settings.service.gc_threshold == 10_000
    assert settings.kafka.fetch_max_wait_ms == 100
    assert CommonSettings.from_env({**VALID, "SERVICE_GC_THRESHOLD": "0"}).service.gc_threshold == 0
    with pytest.raises(SettingsError, match="SERVICE_GC_THRESHOLD is invalid"):
        CommonSettings.from_env({**VALID, "SERVICE_GC_THRESHOLD": "-1"})
    with pytest.raises(SettingsError, match="KAFKA_FETCH_MAX_WAIT_MS is invalid"):
        CommonSettings.from_env({**VALID, "KAFKA_FETCH_MAX_WAIT_MS": "0"})
