"""HTTP plumbing shared by the networked providers: one POST, typed errors, timing, and their common base."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar, Generic, TypeVar

import httpx
import msgspec

from etsygen_common.contracts.products import ProductConcept, ProviderUsage
from etsygen_generator.adapters.providers.base import (
    ConceptRequest,
    ProviderAuthError,
    ProviderBadOutput,
    ProviderRateLimited,
    ProviderRequestError,
    ProviderResult,
    ProviderServerError,
    ProviderTimeout,
)

_ERROR_TEXT_LIMIT = 300


class _ErrorDetail(msgspec.Struct):
    message: str = ""


class _ErrorBody(msgspec.Struct):
    """Both OpenAI and Anthropic wrap errors as ``{"error": {"message": ...}}``."""

    error: _ErrorDetail | str | None = None


def parse_retry_after(headers: httpx.Headers, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from ``retry-after-ms``, or ``retry-after`` as seconds or an HTTP date."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(float(millis) / 1000, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


def _error_text(response: httpx.Response) -> str:
    try:
        body = msgspec.json.decode(response.content, type=_ErrorBody)
    except msgspec.DecodeError:
        return response.text[:_ERROR_TEXT_LIMIT]
    if isinstance(body.error, _ErrorDetail):
        return body.error.message[:_ERROR_TEXT_LIMIT]
    if isinstance(body.error, str):
        return body.error[:_ERROR_TEXT_LIMIT]
    return response.text[:_ERROR_TEXT_LIMIT]


def raise_for_status(response: httpx.Response, *, provider: str) -> None:
    """Map an unsuccessful HTTP status to the provider error type the caller can act on."""
    status = response.status_code
    if status < 400:
        return
    text = f"{provider}: HTTP {status}: {_error_text(response)}"
    if status == 429:
        raise ProviderRateLimited(text, provider=provider, retry_after=parse_retry_after(response.headers))
    if status in {401, 403}:
        raise ProviderAuthError(text, provider=provider, status=status)
    if status == 408:
        raise ProviderTimeout(text, provider=provider)
    if status >= 500:
        raise ProviderServerError(text, provider=provider, status=status)
    raise ProviderRequestError(text, provider=provider, status=status)


async def post_json(
    client: httpx.AsyncClient,
    url: str,
    *,
    body: dict[str, Any],
    headers: dict[str, str],
    provider: str,
    request_timeout: httpx.Timeout,
) -> tuple[httpx.Response, float]:
    """POST a JSON body; return the (successful) response and the latency in milliseconds.

    Raises:
        ProviderTimeout: no answer within the client's timeout.
        ProviderServerError: the server could not be reached, or answered 5xx.
        ProviderRateLimited, ProviderAuthError, ProviderRequestError: see :func:`raise_for_status`.
    """
    started = time.perf_counter()
    try:
        response = await client.post(
            url,
            content=msgspec.json.encode(body),
            headers={"content-type": "application/json", **headers},
            timeout=request_timeout,
        )
    except httpx.TimeoutException as exc:
        raise ProviderTimeout(f"{provider}: no answer from {url} in time", provider=provider) from exc
    except httpx.TransportError as exc:
        raise ProviderServerError(f"{provider}: cannot reach {url}: {exc!r}", provider=provider) from exc
    latency_ms = (time.perf_counter() - started) * 1000
    raise_for_status(response, provider=provider)
    return response, latency_ms


def token_cost(
    prompt_tokens: int, completion_tokens: int, *, prompt_per_1k: float, completion_per_1k: float
) -> float:
    """Cost in USD from token counts and per-1k-token prices."""
    return prompt_tokens / 1000 * prompt_per_1k + completion_tokens / 1000 * completion_per_1k


def priced_result(
    extract: Callable[[], ProductConcept],
    *,
    provider: str,
    model: str,
    prompt_tokens: int,
    completion_tokens: int,
    latency_ms: float,
    prompt_per_1k: float,
    completion_per_1k: float,
) -> ProviderResult:
    """The call's usage and cost, and the concept ``extract`` reads from the answer.

    The usage is known before the concept is: when the answer holds no usable concept, the
    :class:`ProviderBadOutput` carries what the call cost, so budgets still count it.
    """
    usage = ProviderUsage(
        provider=provider,
        model=model,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        cost_usd=token_cost(
            prompt_tokens, completion_tokens, prompt_per_1k=prompt_per_1k, completion_per_1k=completion_per_1k
        ),
        latency_ms=latency_ms,
    )
    try:
        concept = extract()
    except ProviderBadOutput as exc:
        exc.usage = usage
        raise
    return ProviderResult.of(concept, usage)


Answer = TypeVar("Answer")
"""The provider's decoded response body."""


class HttpConceptProvider(ABC, Generic[Answer]):
    """A provider that POSTs one JSON request per concept to an AI API and reads one JSON answer.

    The HTTP call, its errors, the timing and the pricing are the same for every such API; a subclass says
    only where to send the request (:attr:`path`, :attr:`default_base_url`), how to build it
    (:meth:`request_body`, :meth:`headers`) and how to read the answer (:attr:`answer_type`,
    :meth:`usage_of`, :meth:`concept_of`).
    """

    billable = True
    path: ClassVar[str]
    """Appended to the base URL, e.g. ``/chat/completions``."""
    default_base_url: ClassVar[str]
    default_name: ClassVar[str]
    default_max_output_tokens: ClassVar[int | None] = None
    requires_api_key: ClassVar[bool] = False
    answer_type: type[Answer]
    answer_kind: ClassVar[str]
    """What a successful answer is, for the error when it is not one (e.g. "a chat completion")."""

    def __init__(
        self,
        *,
        model: str,
        base_url: str | None = None,
        api_key: str | None = None,
        prompt_price_per_1k: float = 0.0,
        completion_price_per_1k: float = 0.0,
        timeout_s: float = 30.0,
        temperature: float | None = None,
        max_output_tokens: int | None = None,
        name: str | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.name = name or self.default_name
        if self.requires_api_key and not api_key:
            raise ValueError(f"the {self.name} provider needs an API key")
        self.model = model
        self._url = f"{(base_url or self.default_base_url).rstrip('/')}{self.path}"
        self._api_key = api_key
        self._prompt_price = prompt_price_per_1k
        self._completion_price = completion_price_per_1k
        self._temperature = temperature
        self._max_output_tokens = (
            max_output_tokens if max_output_tokens is not None else self.default_max_output_tokens
        )
        self._owns_client = client is None
        self._timeout = httpx.Timeout(timeout_s)
        self._client = client or httpx.AsyncClient(timeout=self._timeout)

    @abstractmethod
    def request_body(self, request: ConceptRequest) -> dict[str, Any]:
        """The API request for one concept."""

    @abstractmethod
    def headers(self) -> dict[str, str]:
        """Authentication and version headers (the content type is added by :func:`post_json`)."""

    @abstractmethod
    def usage_of(self, answer: Answer) -> tuple[str | None, int, int]:
        """The model that answered (None: not said), and the prompt and completion tokens it counted."""

    @abstractmethod
    def concept_of(self, answer: Answer) -> ProductConcept:
        """The concept in the answer, unvalidated.

        Raises:
            ProviderBadOutput: the answer holds no usable concept.
        """

    async def generate(self, request: ConceptRequest) -> ProviderResult:
        """One call; the concept comes back unvalidated."""
        response, latency_ms = await post_json(
            self._client,
            self._url,
            body=self.request_body(request),
            headers=self.headers(),
            provider=self.name,
            request_timeout=self._timeout,
        )
        try:
            answer = msgspec.json.decode(response.content, type=self.answer_type)
        except msgspec.DecodeError as exc:
            raise ProviderBadOutput(
                f"invalid JSON: the response is not {self.answer_kind}: {exc}", provider=self.name
            ) from exc
        model, prompt_tokens, completion_tokens = self.usage_of(answer)
        return priced_result(
            lambda: self.concept_of(answer),
            provider=self.name,
            model=model or self.model,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            latency_ms=latency_ms,
            prompt_per_1k=self._prompt_price,
            completion_per_1k=self._completion_price,
        )

    async def aclose(self) -> None:
        """Close the HTTP client if this provider created it."""
        if self._owns_client:
            await self._client.aclose()
