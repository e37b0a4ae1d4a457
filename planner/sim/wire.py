"""The bytes of Anthropic's Messages API: SSE events, message objects, error bodies.

Everything the simulator sends goes through here, so the wire format lives in one
place. Shapes follow the API: every SSE event has an `event:` line naming its type and
a `data:` line with a JSON object whose `type` repeats the name.
"""

from __future__ import annotations

import json
from typing import Any

SSE_HEADERS = {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
}

# HTTP status -> the API's error type
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    503: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
ERROR_MESSAGES = {
    "rate_limit_error": "Number of request tokens has exceeded your per-minute rate limit",
    "api_error": "Internal server error",
    "overloaded_error": "Overloaded",
    "timeout_error": "Request timed out",
}


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {_dumps(data)}\n\n".encode()


def text_delta(text: str, index: int = 0) -> bytes:
    # The hottest path of the simulator: only the text needs escaping.
    return (
        f'event: content_block_delta\ndata: {{"type":"content_block_delta","index":{index},'
        f'"delta":{{"type":"text_delta","text":{_dumps(text)}}}}}\n\n'
    ).encode()


def usage(
    input_tokens: int, output_tokens: int, cache_creation: int = 0, cache_read: int = 0
) -> dict[str, Any]:
    return {
        "input_tokens": input_tokens,
        "cache_creation_input_tokens": cache_creation,
        "cache_read_input_tokens": cache_read,
        "cache_creation": {
            "ephemeral_5m_input_tokens": cache_creation,
            "ephemeral_1h_input_tokens": 0,
        },
        "output_tokens": output_tokens,
        "service_tier": "standard",
    }


def message(
    message_id: str,
    model: str,
    text: str | None,
    stop_reason: str | None,
    usage_fields: dict[str, Any],
    stop_sequence: str | None = None,
) -> dict[str, Any]:
    """A message object; text None gives the empty content of `message_start`."""
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [] if text is None else [{"type": "text", "text": text}],
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "usage": usage_fields,
    }


def message_start(message_object: dict[str, Any]) -> bytes:
    return sse("message_start", {"type": "message_start", "message": message_object})


def content_block_start(index: int = 0) -> bytes:
    return sse(
        "content_block_start",
        {
            "type": "content_block_start",
            "index": index,
            "content_block": {"type": "text", "text": ""},
        },
    )


def ping() -> bytes:
    return sse("ping", {"type": "ping"})


def content_block_stop(index: int = 0) -> bytes:
    return sse("content_block_stop", {"type": "content_block_stop", "index": index})


def message_delta(
    stop_reason: str, usage_fields: dict[str, Any], stop_sequence: str | None = None
) -> bytes:
    return sse(
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": stop_sequence},
            "usage": usage_fields,
        },
    )


def message_stop() -> bytes:
    return sse("message_stop", {"type": "message_stop"})


def error_object(error_type: str, message_text: str | None = None) -> dict[str, Any]:
    return {
        "type": "error",
        "error": {
            "type": error_type,
            "message": message_text or ERROR_MESSAGES.get(error_type, error_type),
        },
    }


def error_event(error_type: str, message_text: str | None = None) -> bytes:
    return sse("error", error_object(error_type, message_text))


def error_body(status: int, message_text: str | None, request_id: str) -> bytes:
    body = error_object(ERROR_TYPES.get(status, "api_error"), message_text)
    body["request_id"] = request_id
    return _dumps(body).encode()
