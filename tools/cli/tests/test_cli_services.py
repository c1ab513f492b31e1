"""Every service's settings load from a minimal environment, and .env.template documents every variable."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from etsygen_cli.envtemplate import _all_sections, render_template
from etsygen_cli.services import SERVICES
from etsygen_common.settings import SettingsError

REPO = Path(__file__).resolve().parents[3]
MINIMAL = {
    "DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/etsygen",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092",
    "ETSY_API_KEY": "keystring:secret",
}


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_each_service_builds_its_settings_and_app_from_a_minimal_environment(
    name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for var in list(os.environ):
        if var.startswith(
            ("DATABASE_", "REDIS_", "KAFKA_", "ETSY_", "AI_", "GATEWAY_", "SERVICE_", "GENERATOR_")
        ):
            monkeypatch.delenv(var)
    monkeypatch.setenv("ETSYGEN_ENV_FILE", str(tmp_path / "absent.env"))
    for var, value in MINIMAL.items():
        monkeypatch.setenv(var, value)
    bootstrap = SERVICES[name].bootstrap()
    runtime = bootstrap.build_app(bootstrap.load_settings())
    assert runtime.name == name
    assert runtime.port == SERVICES[name].port


def test_a_bad_service_setting_names_the_variable() -> None:
    from etsygen_generator.settings import GeneratorSettings

    with pytest.raises(
        SettingsError, match=r"^GENERATOR_DAILY_TOKEN_BUDGET is invalid .*int \(ge 0\) or unset"
    ):
        GeneratorSettings.from_env({**MINIMAL, "GENERATOR_DAILY_TOKEN_BUDGET": "-1"})
    from etsygen_scraper.settings import ScraperSettings

    with pytest.raises(SettingsError, match="ETSY_API_KEY is invalid"):
        ScraperSettings.from_env({**MINIMAL, "ETSY_API_KEY": "no-secret"})


def test_env_template_is_current_and_lists_every_variable() -> None:
    template = (REPO / ".env.template").read_text()
    assert template == render_template(), "run `make env-template`"
    for section in _all_sections():
        for _field, var, _doc, _default in section.variables():
            assert f"{var}=" in template
