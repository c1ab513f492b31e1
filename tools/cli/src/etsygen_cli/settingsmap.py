"""Which environment variables each ``etsygen`` command reads, derived from the settings classes.

Deployment files (docker-compose.yml, deploy/k8s) hand variables to containers that run ``etsygen ...``;
``tests/deploy/test_deploy_env.py`` checks them against :func:`command_variables`: nothing given that the
command ignores (a misspelt or stale name silently does nothing), nothing required missing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, get_type_hints

import msgspec

from etsygen_cli.services import SERVICES
from etsygen_common.settings import PostgresSettings, SettingsSection

LIBRARY_VARIABLES: dict[type[SettingsSection], tuple[str, ...]] = {
    # asyncpg (like libpq) takes the password from PGPASSWORD when DATABASE_URL carries none, which keeps the
    # password out of ConfigMaps.
    PostgresSettings: ("PGPASSWORD",),
}
"""Variables read by a library on behalf of a section rather than by the section itself."""


@dataclass(frozen=True, slots=True)
class Variable:
    """One environment variable a command reads."""

    name: str
    required: bool
    section: str


def settings_class(service: str) -> type[msgspec.Struct]:
    """The Struct a service's ``load_settings`` returns (its whole configuration)."""
    load = SERVICES[service].bootstrap().load_settings
    cls: type[msgspec.Struct] = get_type_hints(load)["return"]
    return cls


def sections(root: type[Any]) -> Iterator[type[SettingsSection]]:
    """Every settings section inside ``root``, walking nested Structs (``CommonSettings``)."""
    for field in msgspec.structs.fields(root):
        tp = field.type
        if isinstance(tp, type) and issubclass(tp, SettingsSection):
            yield tp
        elif isinstance(tp, type) and issubclass(tp, msgspec.Struct):
            yield from sections(tp)


def section_variables(section: type[SettingsSection]) -> Iterator[Variable]:
    """The variables of one section; required = the field has no default."""
    required = {f.name: f.required for f in msgspec.structs.fields(section)}
    for field, var, _, _ in section.variables():
        yield Variable(var, required[field], section.__name__)
    for var in LIBRARY_VARIABLES.get(section, ()):
        yield Variable(var, required=False, section=section.__name__)


def service_variables(services: Sequence[str]) -> dict[str, Variable]:
    """Union of what the services read; a variable is required if any of them requires it."""
    out: dict[str, Variable] = {}
    for service in services:
        for section in sections(settings_class(service)):
            for v in section_variables(section):
                if v.name not in out or (v.required and not out[v.name].required):
                    out[v.name] = v
    return out


def _services_of(argv: Sequence[str], position: int) -> list[str]:
    """The service named at ``argv[position]`` (``all`` or absent: every service)."""
    name = argv[position] if len(argv) > position else "all"
    if name == "all":
        return list(SERVICES)
    if name not in SERVICES:
        raise ValueError(f"`etsygen {' '.join(argv)}` names unknown service {name!r}")
    return [name]


def command_variables(argv: Sequence[str]) -> dict[str, Variable]:
    """What ``etsygen <argv>`` reads from the environment.

    Raises:
        ValueError: the command is not one whose settings are known here (add it to this function).
    """
    command = argv[0] if argv else ""
    if command == "run":
        return service_variables(_services_of(argv, 1))
    if command == "migrate":  # loads and wires every service it migrates (see main.migrate)
        return service_variables(_services_of(argv, 1))
    if command in {"users", "dead-letters", "dlq"}:  # the gateway's admin commands
        return service_variables(["gateway"])
    if command == "retention":  # like migrate, it works on every service's schema
        return service_variables(list(SERVICES))
    raise ValueError(f"unknown settings for `etsygen {' '.join(argv)}`; describe them in {__name__}")
