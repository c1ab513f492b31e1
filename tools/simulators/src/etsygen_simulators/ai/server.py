"""Fake AI servers speaking the OpenAI chat-completions and Anthropic messages protocols.

By default they answer with a valid concept composed (by the built-in composer) from the niche block in the
prompt. Failures are switched at run time, over HTTP or in-process:

    POST /_control {"mode": "429", "count": 2}             # the next 2 calls get 429, then back to ok
    POST /_control {"mode": "invalid_concept", "inject": ["tags_count"]}   # until changed
    GET  /_stats                                            # requests counted per protocol, current mode
    POST /_reset                                            # mode ok, counters zero

Modes: ok, invalid_json, schema_violation, invalid_concept (with ``inject``: validator codes from
:data:`INJECTABLE_VIOLATIONS`), timeout (answers after ``delay_s``), 429 (with ``retry-after``), 500, 401.

Run from tests with ``async with FakeAIServer() as server: ...`` (free port on 127.0.0.1), or from a shell
with ``python -m etsygen_simulators.ai --port 8799``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Generator
from types import TracebackType
from typing import Any, Final, Literal

import msgspec
import uvicorn
from litestar import Litestar, Request, Response, get, post
from litestar.params import JSONBody

from etsygen_common.contracts.products import ProductConcept
from etsygen_generator.adapters.providers.prompting import TOOL_NAME, extract_payload
from etsygen_generator.domain.compose import NicheBrief, compose
from etsygen_generator.domain.validator import has_ai_disclosure

Mode = Literal["ok", "invalid_json", "schema_violation", "invalid_concept", "timeout", "429", "500", "401"]
JSON: Final = "application/json"


def _pluralise_shortest(tags: list[str]) -> list[str]:
    shortest = min(tags, key=len)
    return [*tags, f"{shortest}s"]


def _without_disclosure(description: str) -> str:
    kept = [line for line in description.splitlines() if not has_ai_disclosure(line)]
    return "\n".join(kept).strip() or "A lovely design."


# Each validator code mapped to a change that breaks exactly that rule (sometimes with a companion, e.g. an
# extra duplicate tag also makes 14 tags). Keys are the validator's violation codes.
INJECTABLE_VIOLATIONS: Final[dict[str, Callable[[ProductConcept], ProductConcept]]] = {
    "title_empty": lambda c: msgspec.structs.replace(c, title=""),
    "whitespace": lambda c: msgspec.structs.replace(c, title=f"  {c.title}\t "),
    "title_too_long": lambda c: msgspec.structs.replace(c, title=f"{c.title} {'Extra Words ' * 14}".strip()),
    "title_bad_chars": lambda c: msgspec.structs.replace(c, title=f"{c.title} 🎉 $"),
    "title_repeated_symbol": lambda c: msgspec.structs.replace(c, title=f"{c.title} & More & Gifts"),
    "tags_count": lambda c: msgspec.structs.replace(c, tags=c.tags[:10]),
    "tag_empty": lambda c: msgspec.structs.replace(c, tags=[*c.tags, " "]),
    "tag_too_long": lambda c: msgspec.structs.replace(
        c, tags=["wonderful whimsical keepsake treasure", *c.tags[1:]]
    ),
    "tag_bad_chars": lambda c: msgspec.structs.replace(c, tags=[c.tags[0], "sparkly #unicorn!", *c.tags[2:]]),
    "tag_duplicate": lambda c: msgspec.structs.replace(c, tags=[*c.tags, c.tags[0].upper()]),
    "tag_plural_duplicate": lambda c: msgspec.structs.replace(c, tags=_pluralise_shortest(c.tags)),
    "materials_empty": lambda c: msgspec.structs.replace(c, materials=[*c.materials, "  "]),
    "materials_bad_chars": lambda c: msgspec.structs.replace(
        c, materials=[*c.materials, "100% recycled paper"]
    ),
    "styles_empty": lambda c: msgspec.structs.replace(c, styles=[""]),
    "styles_too_many": lambda c: msgspec.structs.replace(c, styles=["Boho", "Modern", "Rustic"]),
    "who_made_invalid": lambda c: msgspec.structs.replace(c, who_made="robot"),
    "when_made_invalid": lambda c: msgspec.structs.replace(c, when_made="tomorrow"),
    "description_empty": lambda c: msgspec.structs.replace(c, description=""),
    "ai_disclosure_missing": lambda c: msgspec.structs.replace(
        c, description=_without_disclosure(c.description)
    ),
}


class ControlRequest(msgspec.Struct, frozen=True, kw_only=True):
    """Body of ``POST /_control``."""

    mode: Mode = "ok"
    count: int | None = None
    """How many requests get this mode before it reverts to ok; ``None`` keeps it until changed."""
    inject: list[str] = msgspec.field(default_factory=list)
    """For ``invalid_concept``: which violations to inject (keys of ``INJECTABLE_VIOLATIONS``)."""
    delay_s: float = 30.0
    """For ``timeout``: how long to wait before answering."""
    retry_after: float = 2.0
    """For ``429``: the ``retry-after`` header value in seconds."""


class SimulatorState:
    """Mutable state of one fake server: current failure mode and what it has received."""

    def __init__(self, *, api_key: str | None = None) -> None:
        self.api_key = api_key
        self.control = ControlRequest()
        self.remaining: int | None = None
        self.requests: Counter[str] = Counter()
        self.bodies: list[dict[str, Any]] = []
        self.stopping = asyncio.Event()

    @property
    def total_requests(self) -> int:
        """AI calls received on either protocol."""
        return self.requests["openai"] + self.requests["anthropic"]

    def set_mode(
        self,
        mode: Mode,
        *,
        count: int | None = None,
        inject: list[str] | None = None,
        delay_s: float = 30.0,
        retry_after: float = 2.0,
    ) -> None:
        """Switch the failure mode (see the module docstring)."""
        self.apply(
            ControlRequest(
                mode=mode, count=count, inject=inject or [], delay_s=delay_s, retry_after=retry_after
            )
        )

    def apply(self, control: ControlRequest) -> None:
        """Switch the failure mode from a control request."""
        unknown = [code for code in control.inject if code not in INJECTABLE_VIOLATIONS]
        if unknown:
            raise ValueError(
                f"unknown violations to inject: {unknown}; known: {sorted(INJECTABLE_VIOLATIONS)}"
            )
        self.control = control
        self.remaining = control.count

    def reset(self) -> None:
        """Mode ok, counters and recorded bodies cleared."""
        self.control = ControlRequest()
        self.remaining = None
        self.requests.clear()
        self.bodies.clear()

    def take(self) -> ControlRequest:
        """The behaviour for the request being served, counting down a bounded mode."""
        current = self.control
        if self.remaining is not None:
            self.remaining -= 1
            if self.remaining <= 0:
                self.control = ControlRequest()
                self.remaining = None
        return current


def _text_of(content: object) -> str:
    """Message content as text, whether a string or a list of content parts/blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def _compose_answer(messages: object, control: ControlRequest) -> ProductConcept:
    texts = (
        [_text_of(m.get("content")) for m in messages if isinstance(m, dict)]
        if isinstance(messages, list)
        else []
    )
    prompt = "\n".join(texts)
    payload = extract_payload(prompt)
    if payload is None:
        concept = compose(NicheBrief(keyword=prompt[-60:] or "gift"))
    else:
        concept = compose(payload.niche, variant=payload.variant)
    if control.mode == "invalid_concept":
        for code in control.inject:
            concept = INJECTABLE_VIOLATIONS[code](concept)
    return concept


_SCHEMA_VIOLATION: Final = {"title": 42, "tags": "mug, cup, gift", "description": None}


def _tokens(value: object) -> int:
    return max(1, len(msgspec.json.encode(value)) // 4)


def _error(status: int, kind: str, message: str, headers: dict[str, str] | None = None) -> Response[bytes]:
    body = msgspec.json.encode({"type": "error", "error": {"type": kind, "message": message}})
    return Response(content=body, status_code=status, media_type=JSON, headers=headers or {})


async def _failure(state: SimulatorState, control: ControlRequest) -> Response[bytes] | None:
    """The response for transport-level failure modes, or ``None`` to answer normally."""
    if control.mode == "timeout":
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(state.stopping.wait(), timeout=control.delay_s)
        return None
    if control.mode == "429":
        return _error(
            429, "rate_limit_error", "rate limited (simulated)", {"retry-after": f"{control.retry_after:g}"}
        )
    if control.mode == "500":
        return _error(500, "api_error", "internal error (simulated)")
    if control.mode == "401":
        return _error(401, "authentication_error", "invalid API key (simulated)")
    return None


def build_ai_app(state: SimulatorState) -> Litestar:
    """The Litestar app serving both protocols and the control endpoints over ``state``."""

    def authorised(request: Request[Any, Any, Any], protocol: str) -> bool:
        if state.api_key is None:
            return True
        if protocol == "openai":
            return request.headers.get("authorization") == f"Bearer {state.api_key}"
        return request.headers.get("x-api-key") == state.api_key

    @post("/v1/chat/completions", status_code=200)
    async def chat_completions(
        request: Request[Any, Any, Any], data: JSONBody[dict[str, Any]]
    ) -> Response[bytes]:
        state.requests["openai"] += 1
        state.bodies.append(data)
        if not authorised(request, "openai"):
            return _error(401, "invalid_api_key", "Incorrect API key provided")
        control = state.take()
        failure = await _failure(state, control)
        if failure is not None:
            return failure
        if control.mode == "schema_violation":
            content = msgspec.json.encode(_SCHEMA_VIOLATION).decode()
        else:
            content = msgspec.json.encode(_compose_answer(data.get("messages"), control)).decode()
            if control.mode == "invalid_json":
                content = content[: len(content) // 2]
        body = {
            "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": data.get("model", "fake-model"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content, "refusal": None},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": _tokens(data.get("messages")),
                "completion_tokens": _tokens(content),
                "total_tokens": _tokens(data.get("messages")) + _tokens(content),
            },
        }
        return Response(content=msgspec.json.encode(body), media_type=JSON)

    @post("/v1/messages", status_code=200)
    async def messages(request: Request[Any, Any, Any], data: JSONBody[dict[str, Any]]) -> Response[bytes]:
        state.requests["anthropic"] += 1
        state.bodies.append(data)
        if not authorised(request, "anthropic"):
            return _error(401, "authentication_error", "invalid x-api-key")
        control = state.take()
        failure = await _failure(state, control)
        if failure is not None:
            return failure
        tool_input: object = (
            _SCHEMA_VIOLATION
            if control.mode == "schema_violation"
            else _compose_answer(data.get("messages"), control)
        )
        body = msgspec.json.encode(
            {
                "id": f"msg_{uuid.uuid4().hex[:12]}",
                "type": "message",
                "role": "assistant",
                "model": data.get("model", "fake-model"),
                "content": [
                    {
                        "type": "tool_use",
                        "id": f"toolu_{uuid.uuid4().hex[:12]}",
                        "name": TOOL_NAME,
                        "input": tool_input,
                    }
                ],
                "stop_reason": "tool_use",
                "stop_sequence": None,
                "usage": {
                    "input_tokens": _tokens(data.get("messages")),
                    "output_tokens": _tokens(tool_input),
                },
            }
        )
        if control.mode == "invalid_json":
            body = body[: len(body) // 2]
        return Response(content=body, media_type=JSON)

    @post("/_control", status_code=200)
    async def control_endpoint(data: JSONBody[ControlRequest]) -> Response[bytes]:
        try:
            state.apply(data)
        except ValueError as exc:
            return _error(400, "invalid_request_error", str(exc))
        return Response(content=msgspec.json.encode(data), media_type=JSON)

    @post("/_reset", status_code=200)
    async def reset_endpoint() -> dict[str, str]:
        state.reset()
        return {"mode": "ok"}

    @get("/_stats")
    async def stats_endpoint() -> dict[str, Any]:
        return {
            "requests": state.total_requests,
            "by_protocol": dict(state.requests),
            "mode": state.control.mode,
            "remaining": state.remaining,
        }

    return Litestar(
        route_handlers=[chat_completions, messages, control_endpoint, reset_endpoint, stats_endpoint],
        openapi_config=None,
        logging_config=None,
    )


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves the host process's signal handlers alone (it runs inside tests)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class FakeAIServer:
    """Both fake protocols on one free port of 127.0.0.1, inside the running event loop."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, api_key: str | None = None) -> None:
        self.state = SimulatorState(api_key=api_key)
        self._host = host
        self._port = port
        self._server: _EmbeddedServer | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def base_url(self) -> str:
        """Root URL; also the Anthropic base URL."""
        return f"http://{self._host}:{self._port}"

    @property
    def openai_base_url(self) -> str:
        """Base URL for an OpenAI-compatible client (``.../v1``)."""
        return f"{self.base_url}/v1"

    @property
    def anthropic_base_url(self) -> str:
        """Base URL for an Anthropic client."""
        return self.base_url

    async def start(self, *, startup_timeout_s: float = 10.0) -> None:
        """Bind, serve in a background task, and return once accepting connections."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self._host, self._port))
        self._port = sock.getsockname()[1]
        config = uvicorn.Config(
            build_ai_app(self.state), log_level="warning", lifespan="off", timeout_graceful_shutdown=2
        )
        self._server = _EmbeddedServer(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        deadline = time.monotonic() + startup_timeout_s
        while not self._server.started:
            if self._task.done():
                self._task.result()
                raise RuntimeError("fake AI server exited during start-up")
            if time.monotonic() > deadline:
                raise TimeoutError(f"fake AI server did not start within {startup_timeout_s}s")
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        """Release waiting requests, shut down and wait for the server task."""
        self.state.stopping.set()
        if self._server is not None:
            self._server.should_exit = True
        if self._task is not None:
            await self._task
        self._server = None
        self._task = None

    async def __aenter__(self) -> FakeAIServer:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()


def main(argv: list[str] | None = None) -> None:
    """Serve the fake AI APIs until interrupted."""
    parser = argparse.ArgumentParser(
        prog="python -m etsygen_simulators.ai",
        description="Fake OpenAI/Anthropic servers for Etsy-Gen (synthetic).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8799)
    parser.add_argument("--api-key", default=None, help="require this key (Bearer or x-api-key)")
    args = parser.parse_args(argv)
    state = SimulatorState(api_key=args.api_key)
    root = f"http://{args.host}:{args.port}"
    sys.stdout.write(f"fake AI server (synthetic): OpenAI base {root}/v1, Anthropic base {root}\n")
    uvicorn.run(build_ai_app(state), host=args.host, port=args.port, log_level="info")
