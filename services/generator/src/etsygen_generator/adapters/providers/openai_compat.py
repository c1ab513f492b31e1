"""OpenAI-compatible chat completions with JSON-schema output (OpenAI, Ollama, vLLM, LM Studio, ...)."""

from __future__ import annotations

from typing import Any, Final

import httpx
import msgspec

from etsygen_common.contracts.products import ProductConcept
from etsygen_generator.adapters.providers.base import ConceptRequest, ProviderBadOutput, ProviderResult
from etsygen_generator.adapters.providers.prompting import (
    CONCEPT_JSON_SCHEMA,
    SCHEMA_NAME,
    SYSTEM_PROMPT,
    decode_concept,
    user_message,
)
from etsygen_generator.adapters.providers.transport import post_json, priced_result

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


class OpenAICompatProvider:
    """POST ``{base_url}/chat/completions`` with a strict JSON schema as ``response_format``."""

    billable = True

    def __init__(
        self,
        *,
        model: str,
        base_url: str = DEFAULT_BASE_URL,
        api_key: str | None = None,
        prompt_price_per_1k: float = 0.0,
        completion_price_per_1k: float = 0.0,
        timeout_s: float = 30.0,
        temperature: float | None = None,
        max_output_tokens: int | None = None,
        name: str = "openai_compat",
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.name = name
        self.model = model
        self._url = f"{base_url.rstrip('/')}/chat/completions"
        self._api_key = api_key
        self._prompt_price = prompt_price_per_1k
        self._completion_price = completion_price_per_1k
        self._temperature = temperature
        self._max_output_tokens = max_output_tokens
        self._owns_client = client is None
        self._timeout = httpx.Timeout(timeout_s)
        self._client = client or httpx.AsyncClient(timeout=self._timeout)

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

    async def generate(self, request: ConceptRequest) -> ProviderResult:
        """One chat completion; the concept comes back unvalidated."""
        headers = {"authorization": f"Bearer {self._api_key}"} if self._api_key else {}
        response, latency_ms = await post_json(
            self._client,
            self._url,
            body=self.request_body(request),
            headers=headers,
            provider=self.name,
            request_timeout=self._timeout,
        )
        try:
            completion = msgspec.json.decode(response.content, type=_Completion)
        except msgspec.DecodeError as exc:
            raise ProviderBadOutput(
                f"invalid JSON: the response is not a chat completion: {exc}", provider=self.name
            ) from exc
        return priced_result(
            lambda: self._concept(completion),
            provider=self.name,
            model=completion.model or self.model,
            prompt_tokens=completion.usage.prompt_tokens,
            completion_tokens=completion.usage.completion_tokens,
            latency_ms=latency_ms,
            prompt_per_1k=self._prompt_price,
            completion_per_1k=self._completion_price,
        )

    def _concept(self, completion: _Completion) -> ProductConcept:
        if not completion.choices:
            raise ProviderBadOutput("no choices in the completion", provider=self.name)
        choice = completion.choices[0]
        if choice.message.refusal:
            raise ProviderBadOutput(f"the model refused: {choice.message.refusal}", provider=self.name)
        if choice.finish_reason == "length":
            raise ProviderBadOutput("invalid JSON: output cut off at the token limit", provider=self.name)
        if not choice.message.content:
            raise ProviderBadOutput("empty message content", provider=self.name)
        return decode_concept(choice.message.content, provider=self.name)

    async def aclose(self) -> None:
        """Close the HTTP client if this provider created it."""
        if self._owns_client:
            await self._client.aclose()
