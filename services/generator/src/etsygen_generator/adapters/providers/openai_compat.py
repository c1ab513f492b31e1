"""OpenAI-compatible chat completions with JSON-schema output (OpenAI, Ollama, vLLM, LM Studio, ...)."""

from __future__ import annotations

from typing import Any, Final

import msgspec

from etsygen_common.contracts.products import ProductConcept
from etsygen_generator.adapters.providers.base import ConceptRequest, ProviderBadOutput
from etsygen_generator.adapters.providers.prompting import (
    CONCEPT_JSON_SCHEMA,
    SCHEMA_NAME,
    SYSTEM_PROMPT,
    decode_concept,
    user_message,
)
from etsygen_generator.adapters.providers.transport import HttpConceptProvider

DEFAULT_BASE_URL: Final = "https://api.openai.com/v1"


class _Message(msgspec.Struct):
    content: str | None = None
    refusal: str | None = None


class _Choice(msgspec.Struct):
    message: _Message
    finish_reason: str | None = None


class _Usage(msgspec.Struct):
    prompt_tokens: int = 0
    completion_tokens: int = 0


class _Completion(msgspec.Struct):
    choices: list[_Choice]
    usage: _Usage = msgspec.field(default_factory=_Usage)
    model: str | None = None


class OpenAICompatProvider(HttpConceptProvider[_Completion]):
    """POST ``{base_url}/chat/completions`` with a strict JSON schema as ``response_format``."""

    path = "/chat/completions"
    default_base_url = DEFAULT_BASE_URL
    default_name = "openai_compat"
    answer_type = _Completion
    answer_kind = "a chat completion"

    def request_body(self, request: ConceptRequest) -> dict[str, Any]:
        """The chat-completions request for one concept."""
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": user_message(request)},
            ],
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": SCHEMA_NAME, "schema": CONCEPT_JSON_SCHEMA, "strict": True},
            },
        }
        if self._temperature is not None:
            body["temperature"] = self._temperature
        if self._max_output_tokens is not None:
            body["max_tokens"] = self._max_output_tokens
        return body

    def headers(self) -> dict[str, str]:
        """A bearer token when there is a key (local servers often need none)."""
        return {"authorization": f"Bearer {self._api_key}"} if self._api_key else {}

    def usage_of(self, answer: _Completion) -> tuple[str | None, int, int]:
        """Model and token counts of a chat completion."""
        return answer.model, answer.usage.prompt_tokens, answer.usage.completion_tokens

    def concept_of(self, answer: _Completion) -> ProductConcept:
        """The concept in the first choice's message."""
        if not answer.choices:
            raise ProviderBadOutput("no choices in the completion", provider=self.name)
        choice = answer.choices[0]
        if choice.message.refusal:
            raise ProviderBadOutput(f"the model refused: {choice.message.refusal}", provider=self.name)
        if choice.finish_reason == "length":
            raise ProviderBadOutput("invalid JSON: output cut off at the token limit", provider=self.name)
        if not choice.message.content:
            raise ProviderBadOutput("empty message content", provider=self.name)
        return decode_concept(choice.message.content, provider=self.name)
