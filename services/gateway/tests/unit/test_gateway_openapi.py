"""The OpenAPI document states what the server enforces and which operations need no credentials, without
fuzzing: a regression in the declarations shows here in a second (the schemathesis test finds the rest)."""

from __future__ import annotations

import re
from typing import Any

import msgspec
import pytest
from litestar.handlers import HTTPRouteHandler
from litestar.routes import HTTPRoute

from etsygen_gateway.api.app import create_app
from etsygen_gateway.bootstrap import build_gateway
from etsygen_gateway.domain.accounts import EMAIL_PATTERN, VARIED_PATTERN
from etsygen_gateway.domain.text import LABEL
from etsygen_gateway.settings import GatewaySettings

ENV = {
    "DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/unused",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9",
}
PUBLIC = {
    ("/health/live", "get"),
    ("/health/ready", "get"),
    ("/metrics", "get"),
    ("/v1/auth/signup", "post"),
    ("/v1/auth/setup", "get"),
    ("/v1/auth/setup", "post"),
    ("/v1/auth/login", "post"),
}


@pytest.fixture(scope="module")
def app() -> Any:
    return create_app(build_gateway(GatewaySettings.from_env(ENV)))  # built, never started


@pytest.fixture(scope="module")
def document(app: Any) -> dict[str, Any]:
    schema: dict[str, Any] = msgspec.json.decode(msgspec.json.encode(app.openapi_schema.to_schema()))
    return schema


def _operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (path, method): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict) and "responses" in operation
    }


def test_exactly_the_public_operations_need_no_credentials(app: Any, document: dict[str, Any]) -> None:
    marked = {key for key, operation in _operations(document).items() if operation.get("security") == []}
    assert marked == PUBLIC
    # Every route the access check treats as public (opt["public"]) is marked, or not in the document.
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            assert isinstance(handler, HTTPRouteHandler)
            if handler.opt.get("public") and handler.resolve_include_in_schema():
                for method in handler.http_methods:
                    assert (route.path_format, method.lower()) in marked, (route.path, method)
    assert document["security"], "everything else needs one of the credentials"


def test_body_constraints_are_in_the_document(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    keyword = schemas["JobCreate"]["properties"]["keywords"]
    assert keyword["items"] == {
        "type": "string",
        "minLength": 1,
        "maxLength": 120,
        "pattern": LABEL,
        "description": keyword["items"]["description"],
    }
    for body in ("SignupRequest", "InvitationCreate"):
        email = schemas[body]["properties"]["email"]
        assert (email["format"], email["pattern"], email["maxLength"]) == ("email", EMAIL_PATTERN, 320)
    assert "pattern" not in schemas["LoginRequest"]["properties"]["email"]  # any address may try to sign in
    password = schemas["SignupRequest"]["properties"]["password"]
    assert (password["minLength"], password["pattern"]) == (10, VARIED_PATTERN)
    assert schemas["ApiKeyCreate"]["properties"]["name"]["pattern"] == LABEL


def test_parameter_constraints_are_in_the_document(document: dict[str, Any]) -> None:
    operations = _operations(document)

    def parameter(path: str, name: str, method: str = "get") -> dict[str, Any]:
        found = [p for p in operations[path, method]["parameters"] if p["name"] == name]
        assert len(found) == 1, (path, name)
        schema: dict[str, Any] = found[0]["schema"]
        return schema

    assert parameter("/v1/trends", "keyword")["pattern"] == LABEL
    assert parameter("/v1/products", "keyword")["pattern"] == LABEL
    assert parameter("/v1/jobs", "created_after")["format"] == "date-time"
    for path in ("/v1/jobs", "/v1/trends", "/v1/products"):
        assert "pattern" in parameter(path, "cursor"), path
    # Numeric bounds are printed exactly: a bound JSON clients read rounded would admit larger ids.
    assert parameter("/v1/admin/dead-letters/{letter_id}", "letter_id")["maximum"] == 2**53
    # The SSE route can answer a problem (a refused Last-Event-ID is a 400), and says so.
    events = operations["/v1/jobs/{job_id}/events", "get"]["responses"]
    assert "application/problem+json" in events["400"]["content"]


@pytest.mark.parametrize(
    ("pattern", "text", "matches"),
    [
        (LABEL, "mug", True),
        (LABEL, "  coffee mug ", True),
        (LABEL, "   ", False),
        (LABEL, "", False),
        (LABEL, "mug\x00", False),
        (LABEL, "mug\n", False),  # Python's "$" admits a trailing newline; the pattern must not
        (LABEL, "\u3000", False),
        (EMAIL_PATTERN, "Someone@Example.COM", True),
        (EMAIL_PATTERN, " someone@example.com", False),
        (EMAIL_PATTERN, "a..b@example.com", False),
        (EMAIL_PATTERN, "someone@example.com\n", False),
        (VARIED_PATTERN, "abcdabcdab", True),
        (VARIED_PATTERN, "abcabcabca", False),
    ],
)
def test_the_declared_patterns_mean_what_they_say(pattern: str, text: str, matches: bool) -> None:
    assert (re.search(pattern, text) is not None) is matches
