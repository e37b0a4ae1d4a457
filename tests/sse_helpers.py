"""Hand-written Messages API responses for the client tests on httpx's `MockTransport`:
SSE bodies byte for byte as the wire carries them (text, thinking, refusals, cuts), API
error bodies, and a scripted API that answers each request with the next response."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx2

from planner.llm import GenerationResult
from planner.llm.capabilities import ModelCapabilities
from tests.llm_helpers import REQUEST, FakeTime, make_client

MODEL = REQUEST["model"]
PREFILL_REFUSED = (
    "This model does not support assistant message prefill. "
    "The conversation must end with a user message."
)


def event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


def opening(input_tokens: int = 12, *, index: int = 0) -> list[bytes]:
    message = {
        "id": "msg_mock",
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": 1},
    }
    return [
        event("message_start", {"type": "message_start", "message": message}),
        event(
            "content_block_start",
            {
                "type": "content_block_start",
                "index": index,
                "content_block": {"type": "text", "text": ""},
            },
        ),
    ]


def message_start(input_tokens: int = 12) -> bytes:
    return opening(input_tokens)[0]


def thinking(*texts: str, signature: bool = True) -> list[bytes]:
    """A thinking block (index 0): its deltas, then the signature and its end."""
    parts = [
        event(
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "thinking", "thinking": "", "signature": ""},
            },
        ),
        *(
            event(
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "thinking_delta", "thinking": t},
                },
            )
            for t in texts
        ),
    ]
    if signature:
        parts.append(
            event(
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "signature_delta", "signature": "sig=="},
                },
            )
        )
        parts.append(event("content_block_stop", {"type": "content_block_stop", "index": 0}))
    return parts


def text_block_start(index: int = 1) -> bytes:
    return event(
        "content_block_start",
        {
            "type": "content_block_start",
            "index": index,
            "content_block": {"type": "text", "text": ""},
        },
    )


def deltas(*texts: str) -> list[bytes]:
    return [
        event(
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": t}},
        )
        for t in texts
    ]


def closing(
    stop_reason: str = "end_turn",
    output_tokens: int = 9,
    *,
    thinking_tokens: int | None = None,
    stop_details: dict[str, Any] | None = None,
    index: int = 0,
) -> list[bytes]:
    usage: dict[str, Any] = {"output_tokens": output_tokens}
    if thinking_tokens is not None:
        usage["output_tokens_details"] = {"thinking_tokens": thinking_tokens}
    return [
        event("content_block_stop", {"type": "content_block_stop", "index": index}),
        event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {
                    "stop_reason": stop_reason,
                    "stop_sequence": None,
                    "stop_details": stop_details,
                },
                "usage": usage,
            },
        ),
        event("message_stop", {"type": "message_stop"}),
    ]


def answer(*texts: str) -> list[bytes]:
    return [*opening(), *deltas(*texts), *closing()]


def cut_after(parts: list[bytes]) -> Iterator[bytes]:
    """The body up to here, then the connection breaks as the transport reports it."""
    yield from parts
    raise httpx2.RemoteProtocolError("peer closed connection without sending complete message")


def sse(body: list[bytes] | Iterator[bytes], request_id: str = "req_mock") -> httpx2.Response:
    content = body if isinstance(body, Iterator) else iter(body)
    headers = {"content-type": "text/event-stream", "request-id": request_id}
    return httpx2.Response(200, headers=headers, content=content)


def api_error(
    status: int,
    error_type: str,
    message: str,
    *,
    error_code: str | None = None,
    headers: dict[str, str] | None = None,
    **more_headers: str,
) -> httpx2.Response:
    error: dict[str, Any] = {"type": error_type, "message": message}
    if error_code is not None:
        error["details"] = {"error_code": error_code}
    body = {"type": "error", "error": error}
    all_headers = {"request-id": "req_err", **(headers or {}), **more_headers}
    return httpx2.Response(status, headers=all_headers, json=body)


class ScriptedAPI:
    """A Messages API that answers each request with the next scripted response."""

    def __init__(self, *responses: httpx2.Response) -> None:
        self.responses = list(responses)
        self.requests: list[dict[str, Any]] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(json.loads(request.content))
        return self.responses.pop(0)


def run(
    api: ScriptedAPI,
    strategy: str,
    fake: FakeTime | None = None,
    request: dict[str, Any] = REQUEST,
    **kwargs: Any,
) -> GenerationResult:
    http_client = httpx2.Client(transport=httpx2.MockTransport(api))
    options = {
        key: kwargs.pop(key)
        for key in (
            "capabilities",
            "output_budget_tokens",
            "cache_ttl",
            "max_attempts",
            "checkpoint_every_chars",
        )
        if key in kwargs
    }
    options.setdefault("capabilities", ModelCapabilities())
    with make_client(
        "http://api.test", strategy, fake, http_client=http_client, **options
    ) as client:
        return client.generate(request, **kwargs)


def kinds(result: GenerationResult) -> list[tuple[str, str | None]]:
    return [(attempt.kind, attempt.error_type) for attempt in result.attempts]


def last_message(request: dict[str, Any], role: str) -> str:
    message = request["messages"][-1]
    assert message["role"] == role
    return message["content"]


def text_of(content: str | list[dict[str, Any]]) -> str:
    if isinstance(content, str):
        return content
    return "".join(block["text"] for block in content)


def resent(request: dict[str, Any], role: str) -> str:
    """The text of the request's last message, whether sent as a string or as blocks."""
    return text_of(last_message(request, role))  # type: ignore[arg-type]
