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
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    409: "conflict_error",
    # the docs' type for the proxy's 413 (the SDK's ErrorType lacks it: it never parses one)
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    503: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
ERROR_MESSAGES = {
    "billing_error": (
        "Your credit balance is too low to access the Anthropic API. Please go to Plans & "
        "Billing to upgrade or purchase credits."
    ),
    "conflict_error": "The request conflicts with another request in progress; try again.",
    "request_too_large": "Request exceeds the maximum allowed number of bytes.",
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


def thinking_delta(thinking: str, index: int = 0) -> bytes:
    return sse(
        "content_block_delta",
        {
            "type": "content_block_delta",
            "index": index,
            "delta": {"type": "thinking_delta", "thinking": thinking},
        },
    )


def signature_delta(signature: str, index: int = 0) -> bytes:
    return sse(
        "content_block_delta",
        {
            "type": "content_block_delta",
            "index": index,
            "delta": {"type": "signature_delta", "signature": signature},
        },
    )


def usage(
    input_tokens: int,
    output_tokens: int,
    cache_creation: int = 0,
    cache_read: int = 0,
    thinking_tokens: int = 0,
    cache_creation_1h: int = 0,
) -> dict[str, Any]:
    """The usage object; `cache_creation` counts both TTLs, `cache_creation_1h` the 1 h part."""
    return {
        "input_tokens": input_tokens,
        "cache_creation_input_tokens": cache_creation,
        "cache_read_input_tokens": cache_read,
        "cache_creation": {
            "ephemeral_5m_input_tokens": cache_creation - cache_creation_1h,
            "ephemeral_1h_input_tokens": cache_creation_1h,
        },
        "output_tokens": output_tokens,
        "output_tokens_details": {"thinking_tokens": thinking_tokens},
        "service_tier": "standard",
    }


def text_block(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def thinking_block(thinking: str, signature: str) -> dict[str, Any]:
    return {"type": "thinking", "thinking": thinking, "signature": signature}


def message(
    message_id: str,
    model: str,
    content: list[dict[str, Any]],
    stop_reason: str | None,
    usage_fields: dict[str, Any],
    stop_sequence: str | None = None,
    stop_details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A message object; `message_start` carries it with empty content."""
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "stop_details": stop_details,
        "usage": usage_fields,
    }


def message_start(message_object: dict[str, Any]) -> bytes:
    return sse("message_start", {"type": "message_start", "message": message_object})


def content_block_start(index: int = 0, kind: str = "text") -> bytes:
    block = text_block("") if kind == "text" else thinking_block("", "")
    return sse(
        "content_block_start",
        {"type": "content_block_start", "index": index, "content_block": block},
    )


def ping() -> bytes:
    return sse("ping", {"type": "ping"})


def content_block_stop(index: int = 0) -> bytes:
    return sse("content_block_stop", {"type": "content_block_stop", "index": index})


def message_delta(
    stop_reason: str,
    usage_fields: dict[str, Any],
    stop_sequence: str | None = None,
    stop_details: dict[str, Any] | None = None,
) -> bytes:
    return sse(
        "message_delta",
        {
            "type": "message_delta",
            "delta": {
                "stop_reason": stop_reason,
                "stop_sequence": stop_sequence,
                "stop_details": stop_details,
            },
            "usage": usage_fields,
        },
    )


def message_stop() -> bytes:
    return sse("message_stop", {"type": "message_stop"})


def error_object(
    error_type: str, message_text: str | None = None, error_code: str | None = None
) -> dict[str, Any]:
    error: dict[str, Any] = {
        "type": error_type,
        "message": message_text or ERROR_MESSAGES.get(error_type, error_type),
    }
    if error_code is not None:
        error["details"] = {"error_code": error_code}
    return {"type": "error", "error": error}


def error_event(error_type: str, message_text: str | None = None) -> bytes:
    return sse("error", error_object(error_type, message_text))


def error_body(
    status: int, message_text: str | None, request_id: str, error_code: str | None = None
) -> bytes:
    body = error_object(ERROR_TYPES.get(status, "api_error"), message_text, error_code)
    body["request_id"] = request_id
    return _dumps(body).encode()


_REASONS = {
    402: "Payment Required",
    409: "Conflict",
    413: "Request Entity Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
    504: "Gateway Time-out",
    529: "Site Overloaded",
}


def proxy_html(status: int) -> bytes:
    """The HTML page a proxy in front of the API answers with instead of JSON."""
    title = f"{status} {_REASONS.get(status, 'Error')}"
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>cloudflare</center>\r\n"
        "</body>\r\n</html>\r\n"
    ).encode()
