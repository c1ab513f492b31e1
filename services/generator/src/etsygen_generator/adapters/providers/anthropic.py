"""Anthropic messages API, with the concept forced out through a tool's input schema."""

from __future__ import annotations

from typing import Any, Final

import httpx
import msgspec

from etsygen_common.contracts.products import ProductConcept
from etsygen_generator.adapters.providers.base import ConceptRequest, ProviderBadOutput, ProviderResult
from etsygen_generator.adapters.providers.prompting import (
    CONCEPT_JSON_SCHEMA,
    SYSTEM_PROMPT,
    TOOL_NAME,
    decode_concept,
    user_message,
)
from etsygen_generator.adapters.providers.transport import post_json, priced_result

DEFAULT_BASE_URL: Final = "https://api.anthropic.com"
ANTHROPIC_VERSION: Final = "2023-06-01"


class _Block(msgspec.Struct):
    type: str
    name: str | None = None
    input: msgspec.Raw = msgspec.field(default_factory=msgspec.Raw)


class _Usage(msgspec.Struct):
    input_tokens: int = 0
    output_tokens: int = 0


class _Message(msgspec.Struct):
    content: list[_Block]
    usage: _Usage = msgspec.field(default_factory=_Usage)
    model: str | None = None
    stop_reason: str | None = None


class AnthropicProvider:
    """POST ``{base_url}/v1/messages`` with one tool whose ``input_schema`` is the concept schema."""

    billable = True

    def __init__(
        self,
        *,
        model: str,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        prompt_price_per_1k: float = 0.0,
        completion_price_per_1k: float = 0.0,
        timeout_s: float = 30.0,
        max_output_tokens: int = 2048,
        temperature: float | None = None,
        name: str = "anthropic",
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.name = name
        self.model = model
        self._url = f"{base_url.rstrip('/')}/v1/messages"
        self._api_key = api_key
        self._prompt_price = prompt_price_per_1k
        self._completion_price = completion_price_per_1k
        self._max_output_tokens = max_output_tokens
        self._temperature = temperature
        self._owns_client = client is None
        self._timeout = httpx.Timeout(timeout_s)
        self._client = client or httpx.AsyncClient(timeout=self._timeout)

    def request_body(self, request: ConceptRequest) -> dict[str, Any]:
        """The messages request for one concept, with the tool forced through ``tool_choice``."""
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": self._max_output_tokens,
            "system": SYSTEM_PROMPT,
            "messages": [{"role": "user", "content": user_message(request)}],
            "tools": [
                {
                    "name": TOOL_NAME,
                    "description": "Record the Etsy product concept.",
                    "input_schema": CONCEPT_JSON_SCHEMA,
                }
            ],
            "tool_choice": {"type": "tool", "name": TOOL_NAME},
        }
        if self._temperature is not None:
            body["temperature"] = self._temperature
        return body

    async def generate(self, request: ConceptRequest) -> ProviderResult:
        """One messages call; the concept comes back unvalidated."""
        response, latency_ms = await post_json(
            self._client,
            self._url,
            body=self.request_body(request),
            headers={"x-api-key": self._api_key, "anthropic-version": ANTHROPIC_VERSION},
            provider=self.name,
            request_timeout=self._timeout,
        )
        try:
            message = msgspec.json.decode(response.content, type=_Message)
        except msgspec.DecodeError as exc:
            raise ProviderBadOutput(
                f"invalid JSON: the response is not a message: {exc}", provider=self.name
            ) from exc
        return priced_result(
            lambda: self._concept(message),
            provider=self.name,
            model=message.model or self.model,
            prompt_tokens=message.usage.input_tokens,
            completion_tokens=message.usage.output_tokens,
            latency_ms=latency_ms,
            prompt_per_1k=self._prompt_price,
            completion_per_1k=self._completion_price,
        )

    def _concept(self, message: _Message) -> ProductConcept:
        if message.stop_reason == "max_tokens":
            raise ProviderBadOutput("invalid JSON: output cut off at max_tokens", provider=self.name)
        block = next((b for b in message.content if b.type == "tool_use" and b.name == TOOL_NAME), None)
        if block is None:
            raise ProviderBadOutput(f"no {TOOL_NAME} tool call in the answer", provider=self.name)
        return decode_concept(bytes(block.input), provider=self.name)

    async def aclose(self) -> None:
        """Close the HTTP client if this provider created it."""
        if self._owns_client:
            await self._client.aclose()
