"""Anthropic messages API, with the concept forced out through a tool's input schema."""

from __future__ import annotations

from typing import Any, Final

import msgspec

from etsygen_common.contracts.products import ProductConcept
from etsygen_generator.adapters.providers.base import ConceptRequest, ProviderBadOutput
from etsygen_generator.adapters.providers.prompting import (
    CONCEPT_JSON_SCHEMA,
    SYSTEM_PROMPT,
    TOOL_NAME,
    decode_concept,
    user_message,
)
from etsygen_generator.adapters.providers.transport import HttpConceptProvider

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


class AnthropicProvider(HttpConceptProvider[_Message]):
    """POST ``{base_url}/v1/messages`` with one tool whose ``input_schema`` is the concept schema."""

    path = "/v1/messages"
    default_base_url = DEFAULT_BASE_URL
    default_name = "anthropic"
    default_max_output_tokens = 2048
    requires_api_key = True
    answer_type = _Message
    answer_kind = "a message"

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

    def headers(self) -> dict[str, str]:
        """The API key and the pinned API version."""
        # Never empty: the constructor refuses a missing key (requires_api_key).
        return {"x-api-key": self._api_key or "", "anthropic-version": ANTHROPIC_VERSION}

    def usage_of(self, answer: _Message) -> tuple[str | None, int, int]:
        """Model and token counts of a message."""
        return answer.model, answer.usage.input_tokens, answer.usage.output_tokens

    def concept_of(self, answer: _Message) -> ProductConcept:
        """The input of the concept tool's call."""
        if answer.stop_reason == "max_tokens":
            raise ProviderBadOutput("invalid JSON: output cut off at max_tokens", provider=self.name)
        block = next((b for b in answer.content if b.type == "tool_use" and b.name == TOOL_NAME), None)
        if block is None:
            raise ProviderBadOutput(f"no {TOOL_NAME} tool call in the answer", provider=self.name)
        return decode_concept(bytes(block.input), provider=self.name)
