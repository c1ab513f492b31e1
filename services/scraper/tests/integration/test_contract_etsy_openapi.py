"""Contract tests against Etsy's pinned OpenAPI document.

Every request the client makes must match an operation of the document (path template, method, declared
query parameter names, values of the declared types, required parameters, form fields of the request body),
and every simulator response must validate against the response schema the document declares for its status.
Error statuses the document does not list per operation (401, 429) are checked against ``ErrorSchema``.

The repository pins the document beside the simulator (``etsygen_simulators/etsy/etsy-openapi-3.0.0.json``);
``ETSY_OPENAPI_PATH`` points at another copy (the ``etsy_openapi`` fixture of the shared pytest plugin).

Two deliberate readings of the document:

- OpenAPI 3.0's ``nullable`` is turned into JSON Schema's ``null`` type before validating.
- Array query parameters are sent comma-separated (``listing_ids=1,2,3``), Etsy's documented convention,
  although the document does not declare ``explode: false``; each comma-separated item is type-checked.

Response schemas are checked strictly (``additionalProperties: false`` on every documented object) so the
simulator cannot drift into fields Etsy does not have.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs

import httpx
import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from etsygen_scraper.adapters.etsy_client import EtsyClient
from etsygen_scraper.adapters.etsy_errors import (
    EtsyAuthError,
    EtsyInvalidRequest,
    EtsyMalformedResponse,
    EtsyNotFound,
)
from etsygen_scraper.adapters.fetcher import fetch_keyword
from etsygen_simulators.etsy import BUILT_IN_PROFILES, RunningSimulator, SimulatorConfig, running_simulator

DOC_URI = "urn:etsy-openapi-3.0.0"
UNDOCUMENTED_PATHS = {"/v3/public/oauth/token"}
"""Etsy documents the OAuth token endpoint in its OAuth guide, not in the OpenAPI document."""
DRAFT_FIELDS = {
    "quantity": 2,
    "title": "Linen Apron With Pockets",
    "description": "A draft from the contract test.",
    "price": 36.5,
    "who_made": "i_did",
    "when_made": "made_to_order",
    "taxonomy_id": 1081,
    "tags": ["linen apron", "kitchen apron"],
    "materials": ["linen"],
    "styles": ["rustic"],
    "is_supply": False,
    "type": "physical",
}


def to_json_schema(node: Any) -> Any:
    """OpenAPI 3.0 schema object -> JSON Schema: ``nullable`` becomes a null type; objects become closed."""
    if isinstance(node, list):
        return [to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted: dict[str, Any] = {}
    for key, value in node.items():
        if key == "nullable":
            continue
        if key == "properties" and isinstance(value, dict):
            converted[key] = {name: to_json_schema(schema) for name, schema in value.items()}
        else:
            converted[key] = to_json_schema(value)
    if "properties" in converted and "additionalProperties" not in converted:
        converted["additionalProperties"] = False
    if node.get("nullable") is True:
        if "type" in converted:
            converted["type"] = [converted["type"], "null"]
            if "enum" in converted:
                converted["enum"] = [*converted["enum"], None]
        else:
            return {"anyOf": [{"type": "null"}, converted]}
    return converted


class Contract:
    """The pinned document, ready to check requests and responses."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        converted = {"components": to_json_schema(document["components"])}
        self.registry: Registry[Any] = Registry().with_resource(
            DOC_URI, Resource.from_contents(converted, default_specification=DRAFT7)
        )
        # Literal segments win over parameters (``/listings/batch`` is not ``/listings/{listing_id}``).
        self.templates = [
            (re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path) + "$"), path)
            for path in sorted(document["paths"], key=lambda path: path.count("{"))
        ]

    def validator(self, schema: dict[str, Any]) -> jsonschema.Draft7Validator:
        return jsonschema.Draft7Validator(_absolute_refs(to_json_schema(schema)), registry=self.registry)

    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any], dict[str, str]]:
        for pattern, template in self.templates:
            found = pattern.match(path)
            if found and method.lower() in self.document["paths"][template]:
                return template, self.document["paths"][template][method.lower()], found.groupdict()
        raise AssertionError(f"{method} {path} matches no operation of the OpenAPI document")

    def check_request(self, request: httpx.Request) -> list[str]:
        """Problems with ``request``; empty when it matches the document."""
        path = request.url.path
        if path in UNDOCUMENTED_PATHS:
            return []
        template, operation, path_values = self.operation(request.method, path)
        where = f"{request.method} {template}"
        parameters = [
            *self.document["paths"][template].get("parameters", []),
            *operation.get("parameters", []),
        ]
        declared = {(parameter["in"], parameter["name"]): parameter for parameter in parameters}
        query: dict[str, list[str]] = {}
        for name, value in request.url.params.multi_items():
            query.setdefault(name, []).append(value)
        problems = [
            f"{where}: query parameter {name!r} is not declared"
            for name in query
            if ("query", name) not in declared
        ]
        supplied = {("query", name): values for name, values in query.items()}
        supplied |= {("path", name): [value] for name, value in path_values.items()}
        if "x-api-key" not in request.headers:  # the document's global security requirement
            problems.append(f"{where}: x-api-key header missing")
        for key, parameter in declared.items():
            if key not in supplied:
                if parameter.get("required"):
                    problems.append(f"{where}: required {key[0]} parameter {key[1]!r} missing")
                continue
            problems += self._check_value(where, key[1], parameter["schema"], supplied[key])
        body = operation.get("requestBody")
        if body is not None:
            problems += self._check_form(where, body, request)
        return problems

    def _check_value(self, where: str, name: str, schema: dict[str, Any], raw: list[str]) -> list[str]:
        if schema.get("type") == "array":
            items = [item for value in raw for item in value.split(",")]
            value: Any = [_typed(schema["items"], item) for item in items]
        elif len(raw) != 1:
            return [f"{where}: parameter {name!r} given {len(raw)} times"]
        else:
            value = _typed(schema, raw[0])
        errors = [error.message for error in self.validator(schema).iter_errors(value)]
        return [f"{where}: parameter {name!r}={raw!r}: {message}" for message in errors]

    def _check_form(self, where: str, body: dict[str, Any], request: httpx.Request) -> list[str]:
        content_type = request.headers.get("content-type", "").split(";")[0]
        if content_type not in body["content"]:
            return [f"{where}: content-type {content_type!r} not among {sorted(body['content'])}"]
        schema = body["content"][content_type]["schema"]
        form = parse_qs(request.content.decode(), keep_blank_values=True)
        document: dict[str, Any] = {}
        for name, values in form.items():
            field = schema["properties"].get(name)
            if field is None:
                document[name] = values  # reported as an unknown property by the closed schema
            elif field.get("type") == "array":
                document[name] = [_typed(field["items"], value) for value in values]
            else:
                document[name] = _typed(field, values[0])
        errors = self.validator(schema).iter_errors(document)
        return [f"{where}: form body: {error.message}" for error in errors]

    def check_response(self, method: str, path: str, status: int, body: Any) -> list[str]:
        """Problems with a response body; empty when it matches the declared schema."""
        if path in UNDOCUMENTED_PATHS:
            return []
        template, operation, _ = self.operation(method, path)
        declared = operation["responses"].get(str(status))
        if declared is not None:
            schema = declared["content"]["application/json"]["schema"]
        elif status >= 400:
            schema = {"$ref": "#/components/schemas/ErrorSchema"}
        else:
            return [f"{method} {template}: status {status} is not documented"]
        errors = self.validator(schema).iter_errors(body)
        return [f"{method} {template} -> {status}: {error.json_path}: {error.message}" for error in errors]


def _absolute_refs(node: Any) -> Any:
    if isinstance(node, list):
        return [_absolute_refs(item) for item in node]
    if isinstance(node, dict):
        return {
            key: (DOC_URI + value if key == "$ref" and value.startswith("#") else _absolute_refs(value))
            for key, value in node.items()
        }
    return node


def _typed(schema: dict[str, Any], raw: str) -> Any:
    """A query/form string as the type its schema declares (left as text when it does not parse)."""
    kind = schema.get("type")
    try:
        if kind == "integer":
            return int(raw)
        if kind == "number":
            return float(raw)
    except ValueError:
        return raw
    if kind == "boolean":
        return {"true": True, "false": False}.get(raw, raw)
    return raw


class Recorder:
    """httpx event hooks collecting every exchange the client makes."""

    def __init__(self) -> None:
        self.exchanges: list[tuple[httpx.Request, int, Any]] = []

    async def on_response(self, response: httpx.Response) -> None:
        await response.aread()
        try:
            body = response.json()
        except ValueError:
            body = response.text
        self.exchanges.append((response.request, response.status_code, body))


@pytest.fixture(scope="module")
def contract(etsy_openapi: dict[str, Any]) -> Contract:
    return Contract(etsy_openapi)


@pytest.fixture
async def sim() -> AsyncIterator[RunningSimulator]:
    async with running_simulator(SimulatorConfig(per_second=200, per_day=100_000)) as running:
        yield running


@contextlib.asynccontextmanager
async def recording_client(
    sim: RunningSimulator, recorder: Recorder, api_key: str = "contract:secret"
) -> AsyncIterator[EtsyClient]:
    async with httpx.AsyncClient(
        base_url=sim.base_url, event_hooks={"response": [recorder.on_response]}
    ) as http:
        yield EtsyClient(api_key, http=http, per_second=200, backoff_base_s=0.01, max_retry_after_s=2)


def assert_conforms(contract: Contract, recorder: Recorder) -> None:
    problems: list[str] = []
    for request, status, body in recorder.exchanges:
        problems += contract.check_request(request)
        problems += contract.check_response(request.method, request.url.path, status, body)
    assert not problems, "\n".join(problems[:40])


async def test_every_client_request_and_simulator_response_matches_the_document(
    contract: Contract, sim: RunningSimulator
) -> None:
    recorder = Recorder()
    async with recording_client(sim, recorder) as client:
        page = await client.search_active("personalized dog collar", limit=25, offset=25)
        await client.search_active("boho wall art", min_price=10, max_price=19.99, taxonomy_id=1027)
        await client.search_active("linen apron", sort_on="price")
        ids = [listing.listing_id for listing in page.results]
        shop_id = page.results[0].shop_id
        await client.get_listings_batch(ids)
        await client.get_listings_batch(ids[:3], includes=())
        await client.count_reviews(ids[0], 1_700_000_000)
        await client.get_reviews(
            ids[1], min_created=1_700_000_000, max_created=1_900_000_000, limit=5, offset=1
        )
        await client.get_shop(shop_id)
        token = await client.exchange_authorization_code(
            code="synthetic-code", code_verifier="v" * 43, redirect_uri="https://localhost/callback"
        )
        token = await client.refresh_access_token(token.refresh_token)
        draft = await client.create_draft_listing(shop_id, DRAFT_FIELDS, access_token=token.access_token)
        assert draft.state == "draft"
        await fetch_keyword(client, "axolotl plush", 150, top_n_reviews=5)
        sim.control(fail_5xx=1, force_429=1, retry_after=0)
        await client.get_shop(shop_id)
        with pytest.raises(EtsyNotFound):
            await client.get_shop(1)
        with pytest.raises(EtsyNotFound):
            await client.count_reviews(1, 1_700_000_000)
        with pytest.raises(EtsyInvalidRequest):
            await client.search_active("boho wall art", offset=12_100)
        too_long = {**DRAFT_FIELDS, "title": "x" * 141}  # valid per the document, refused by the marketplace
        with pytest.raises(EtsyInvalidRequest, match="140"):
            await client.create_draft_listing(shop_id, too_long, access_token=token.access_token)
        sim.control(malformed=1)
        with pytest.raises(EtsyMalformedResponse):
            await client.get_shop(shop_id)
    async with recording_client(sim, recorder, api_key="no-shared-secret") as unauthorised:
        with pytest.raises(EtsyAuthError):
            await unauthorised.search_active("boho wall art")

    statuses = {status for _, status, _ in recorder.exchanges}
    assert {200, 201, 400, 401, 404, 429, 500} <= statuses
    # The injected malformed body is the one response that must break the schema.
    broken = [
        entry
        for entry in recorder.exchanges
        if isinstance(entry[2], dict) and entry[2].get("count") == "many"
    ]
    assert len(broken) == 1
    assert contract.check_response("GET", "/v3/application/shops/1", 200, broken[0][2])
    recorder.exchanges.remove(broken[0])
    assert_conforms(contract, recorder)


async def test_simulator_serves_every_niche_in_the_documented_shapes(
    contract: Contract, sim: RunningSimulator
) -> None:
    recorder = Recorder()
    async with recording_client(sim, recorder) as client:
        for profile in BUILT_IN_PROFILES:
            page = await client.search_active(profile.keyword, limit=3)
            batch = await client.get_listings_batch(
                [listing.listing_id for listing in page.results],
                includes=("Shipping", "Images", "Shop", "User", "Translations", "Inventory", "Videos"),
            )
            assert len(batch.results) == len(page.results)
            await client.get_reviews(page.results[0].listing_id, limit=3)
            await client.get_shop(page.results[0].shop_id)

    assert len(recorder.exchanges) == 4 * len(BUILT_IN_PROFILES)
    assert_conforms(contract, recorder)


def test_contract_checker_rejects_undeclared_parameters_and_wrong_types(contract: Contract) -> None:
    wrong = httpx.Request(
        "GET",
        "http://sim/v3/application/listings/active",
        params={"keywords": "x", "limit": "many", "colour": "red", "sort_on": "popularity"},
        headers={"x-api-key": "a:b"},
    )
    missing = httpx.Request("GET", "http://sim/v3/application/listings/batch", headers={"x-api-key": "a:b"})

    problems = contract.check_request(wrong) + contract.check_request(missing)

    assert any("'colour' is not declared" in problem for problem in problems)
    assert any("'limit'" in problem for problem in problems)
    assert any("'sort_on'" in problem for problem in problems)
    assert any("required query parameter 'listing_ids' missing" in problem for problem in problems)


def test_contract_checker_rejects_responses_that_drift_from_the_schema(contract: Contract) -> None:
    drifted = {"count": 1, "results": [{"listing_id": 0, "title": 5, "sparkle": True}]}

    problems = contract.check_response("GET", "/v3/application/listings/active", 200, drifted)

    assert any("sparkle" in problem for problem in problems)
    assert any("title" in problem for problem in problems)
    assert any("listing_id" in problem for problem in problems)
