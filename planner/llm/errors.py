"""planner's LLM failures, and the one place that translates SDK and transport errors.

Every exception the `anthropic` SDK or `httpx2` can raise while planner talks to the
Messages API goes through `classify()`, which maps it, most specific first, to this tree;
the strategies only ever look at these types. Its root hangs under `planner.errors.LLMError`,
so a front end that catches `PlannerError` catches these too::

    LLMError (planner.errors)
    └── PlannerLLMError
        ├── NonRetryableError        fail at once: retrying cannot help
        │   ├── InvalidRequestError  400 invalid_request_error (and 422, ...)
        │   │   └── RequestTooLarge  413 request_too_large (also a non-JSON body from an edge)
        │   ├── AuthenticationFailed 401 / 403
        │   ├── BillingFailed        402 billing_error
        │   ├── SpendLimitReached    429 enforced_spend_limit_reached (no retry-after): the
        │   │                        organisation's own cap; waiting 30 minutes cannot help
        │   ├── RetryDeclined        the server said `x-should-retry: false`
        │   ├── ModelNotFound        404
        │   ├── StreamingRequired    the SDK's long-request guard refused a non-streaming call
        │   ├── Refused              stop_reason "refusal" (.category, .explanation)
        │   ├── UnexpectedStop       tool_use, pause_turn, ...: not a text answer
        │   └── LimitReached         planner's own limits, not the API's
        │       ├── OutputBudgetSpent  the generation's output budget is used up
        │       └── ThinkingExhausted  max_tokens ran out while thinking; nothing left to try
        ├── PrefillRefused           400: this model does not accept an assistant prefill
        ├── MaxTokensReached         the answer stopped at max_tokens (.while_thinking)
        └── TransientError           worth another attempt
            ├── RequestFailed        HTTP error before the stream started (.retry_after_s)
            │   ├── RateLimited      429
            │   ├── Overloaded       529
            │   └── ServerError      500, 502, 503, 408, ... and `x-should-retry: true`
            │       ├── GatewayTimeout 504 timeout_error
            │       └── Conflict       409 conflict_error (the SDK retries it too)
            ├── ConnectFailed        no response at all (refused, DNS, connect/read timeout)
            └── StreamInterrupted    the response started (or was awaited), then broke
                ├── ConnectionDropped  raw httpx2 RemoteProtocolError / ReadError mid-stream,
                │                      or the connection cut while awaiting a whole message
                ├── StreamStalled      no byte within the read timeout
                ├── StreamErrorEvent   SSE `error` event (.error_type: overloaded_error, ...)
                ├── StreamCorrupted    undecodable event data
                └── StreamTruncated    ended without message_stop / stop_reason

Each failure has a short stable `kind` (recorded as the attempt's error type) and a message
a person can act on. Decisions read what the SDK exposes as data (`status_code`, `type`,
`error_code` = `error.details.error_code`, the `x-should-retry` header), never the wording
of a message alone: the one wording check left (a refused prefill) is backed by the request
shape (see `classify`'s `prefill_probe`).
"""

from __future__ import annotations

import email.utils
import json
import time

import anthropic
import httpx2

from planner.llm.error_types import (
    AuthenticationFailed,
    BillingFailed,
    Conflict,
    ConnectFailed,
    ConnectionDropped,
    GatewayTimeout,
    InvalidRequestError,
    LimitReached,
    MaxTokensReached,
    ModelNotFound,
    NonRetryableError,
    OutputBudgetSpent,
    Overloaded,
    PlannerLLMError,
    PrefillRefused,
    RateLimited,
    Refused,
    RequestFailed,
    RequestTooLarge,
    RetryDeclined,
    ServerError,
    SpendLimitReached,
    StreamCorrupted,
    StreamErrorEvent,
    StreamingRequired,
    StreamInterrupted,
    StreamStalled,
    StreamTruncated,
    ThinkingExhausted,
    TransientError,
    UnexpectedStop,
)

# SSE error event types that say "this request was wrong", not "the server had a moment".
_NON_RETRYABLE_EVENT_TYPES = {
    "invalid_request_error": InvalidRequestError,
    "authentication_error": AuthenticationFailed,
    "permission_error": AuthenticationFailed,
    "not_found_error": ModelNotFound,
}
_PREFILL_WORDS = ("prefill", "must end with a user message")


def parse_retry_after(headers: httpx2.Headers | None, now: float | None = None) -> float | None:
    """Seconds to wait from `retry-after-ms`, else `retry-after` (seconds or an HTTP date)."""
    if headers is None:
        return None
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    parsed = email.utils.parsedate_tz(value)
    if parsed is None:
        return None
    return max(0.0, email.utils.mktime_tz(parsed) - (time.time() if now is None else now))


def _api_message(exc: anthropic.APIStatusError) -> str:
    if exc.api_message:
        return exc.api_message
    body = exc.body
    if isinstance(body, (dict, list)):
        return json.dumps(body)[:500]
    return str(body or exc.message)[:500]


_SPEND_LIMIT_CODES = frozenset({"enforced_spend_limit_reached", "contract_spend_limit_reached"})


def _should_retry(exc: anthropic.APIStatusError) -> bool | None:
    """The server's own verdict (`x-should-retry`), as the SDK reads it; None when silent."""
    value = exc.response.headers.get("x-should-retry")
    return {"true": True, "false": False}.get(value) if value is not None else None


def _is_prefill_refusal(exc: anthropic.APIStatusError, detail: str, prefill_probe: bool) -> bool:
    """A 400 that refuses the trailing assistant message.

    The SDK exposes no error code for it (none in `anthropic._error_classes` as of 2.15), so
    the type must be `invalid_request_error` and either the request was a *probe* (it
    differs from one the API already accepted only by planner's prefill, so nothing else in
    it can be at fault) or a code or the wording names the prefill.
    """
    if exc.status_code != 400 or exc.type not in (None, "invalid_request_error"):
        return False
    if prefill_probe:
        return True
    code = exc.error_code or ""
    return "prefill" in code or any(word in detail.lower() for word in _PREFILL_WORDS)


def _from_status_error(exc: anthropic.APIStatusError, prefill_probe: bool) -> PlannerLLMError:
    status = exc.status_code
    error_type = exc.type or "unknown_error"
    detail = _api_message(exc)
    request_id = exc.request_id
    if status == 200:
        # An SSE `error` event: the response had started with 200 before it broke.
        non_retryable = _NON_RETRYABLE_EVENT_TYPES.get(error_type)
        if non_retryable is not None:
            return non_retryable(
                f"the stream reported {error_type}: {detail}", request_id=request_id
            )
        return StreamErrorEvent(
            f"the stream reported {error_type}: {detail}",
            error_type=error_type,
            request_id=request_id,
        )
    if _is_prefill_refusal(exc, detail, prefill_probe):
        return PrefillRefused(
            f"the model does not accept an assistant prefill (400): {detail}", request_id=request_id
        )
    if exc.error_code in _SPEND_LIMIT_CODES:
        return SpendLimitReached(
            f"the organisation's spend limit is reached ({status} {exc.error_code}): no request "
            "will succeed until the limit is raised in the Console or the period resets; "
            f"not retried. {detail}",
            request_id=request_id,
        )
    failure = _by_status(exc, status, error_type, detail)
    should_retry = _should_retry(exc)
    if should_retry is False and isinstance(failure, TransientError):
        return RetryDeclined(
            f"{failure.message} (the server sent x-should-retry: false; not retried)",
            status_code=status,
            request_id=request_id,
        )
    if should_retry is True and isinstance(failure, NonRetryableError):
        return ServerError(
            f"{failure.message} (the server sent x-should-retry: true; retried)",
            status_code=status,
            retry_after_s=parse_retry_after(exc.response.headers),
            request_id=request_id,
        )
    return failure


def _by_status(
    exc: anthropic.APIStatusError, status: int, error_type: str, detail: str
) -> PlannerLLMError:
    request_id = exc.request_id
    retry_after = parse_retry_after(exc.response.headers)
    transient: dict[int, tuple[type[RequestFailed], str]] = {
        429: (RateLimited, "rate limited"),
        529: (Overloaded, "the API is overloaded"),
        504: (GatewayTimeout, "the API timed out processing the request (stream long answers)"),
        409: (Conflict, "the request conflicted with the state of a resource"),
    }
    if status in transient or error_type == "overloaded_error":
        cls, what = transient.get(status, (Overloaded, "the API is overloaded"))
        return cls(
            f"{what} ({status} {error_type}): {detail}",
            status_code=status,
            retry_after_s=retry_after,
            request_id=request_id,
        )
    if status >= 500 or status == 408:
        return ServerError(
            f"server error ({status} {error_type}): {detail}",
            status_code=status,
            retry_after_s=retry_after,
            request_id=request_id,
        )
    if status in (401, 403):
        return AuthenticationFailed(
            f"the API refused the credentials ({status} {error_type}): {detail}. "
            "Check ANTHROPIC_API_KEY; not retried.",
            request_id=request_id,
        )
    if status == 402:
        return BillingFailed(
            f"the API refused payment ({status} {error_type}): {detail}. "
            "Check the billing details in the Console; not retried.",
            request_id=request_id,
        )
    if status == 404:
        return ModelNotFound(
            f"not found (404 {error_type}): {detail}. "
            "Check the model name and the base URL; not retried.",
            request_id=request_id,
        )
    if status == 413:
        return RequestTooLarge(
            f"the request is too large for the API (413 {error_type}): {detail}. "
            "Shorten the prompt; not retried.",
            request_id=request_id,
        )
    return InvalidRequestError(
        f"the API rejected the request ({status} {error_type}): {detail}. Not retried.",
        request_id=request_id,
    )


def classify(
    exc: BaseException, *, request_id: str | None = None, prefill_probe: bool = False
) -> PlannerLLMError | None:
    """The planner failure for anything raised while requesting or reading a response.

    `request_id` is the id of the response being read, when one had started; errors that
    carry their own id keep it. `prefill_probe`: the request differs from one the API
    already accepted only by planner's own assistant prefill (a 400 can then only be about
    the prefill). Exceptions that are not about the API (programming errors) give None:
    the caller lets them propagate.
    """
    if isinstance(exc, PlannerLLMError):
        return exc
    if isinstance(exc, anthropic.APIStatusError):
        return _from_status_error(exc, prefill_probe)
    if isinstance(exc, anthropic.APITimeoutError):
        return ConnectFailed(
            "no response within the timeout before the stream started", request_id=request_id
        )
    if isinstance(exc, anthropic.APIConnectionError):
        cause = exc.__cause__
        reason = f" ({type(cause).__name__}: {cause})" if cause is not None else ""
        if isinstance(cause, (httpx2.RemoteProtocolError, httpx2.ReadError)):
            # Connected and sent, then cut before the response (a non-streaming call).
            return ConnectionDropped(
                f"the connection dropped before the response arrived{reason}", request_id=request_id
            )
        return ConnectFailed(f"could not get a response{reason}", request_id=request_id)
    if isinstance(exc, httpx2.TimeoutException):
        return StreamStalled(
            f"the stream stalled: no data within the read timeout ({type(exc).__name__})",
            request_id=request_id,
        )
    if isinstance(exc, (httpx2.RemoteProtocolError, httpx2.NetworkError)):
        return ConnectionDropped(
            f"the connection dropped mid-stream ({type(exc).__name__}: {exc})",
            request_id=request_id,
        )
    if isinstance(exc, (httpx2.TransportError, httpx2.DecodingError)):
        return ConnectionDropped(
            f"the transport failed mid-stream ({type(exc).__name__}: {exc})", request_id=request_id
        )
    if isinstance(exc, (json.JSONDecodeError, anthropic.APIResponseValidationError)):
        return StreamCorrupted(f"undecodable stream data: {exc}", request_id=request_id)
    return None


def truncated(request_id: str | None, saw_message_stop: bool) -> StreamTruncated:
    why = "without a stop reason" if saw_message_stop else "without message_stop"
    return StreamTruncated(
        f"the stream ended {why}: the answer is incomplete", request_id=request_id
    )


def for_stop_reason(
    stop_reason: str,
    request_id: str | None,
    *,
    while_thinking: bool = False,
    stop_details: dict[str, str | None] | None = None,
) -> PlannerLLMError:
    """The failure for an answer that ended normally but is not a complete text answer."""
    if stop_reason == "max_tokens":
        where = " while the model was still thinking" if while_thinking else ""
        return MaxTokensReached(
            f"the answer stopped at max_tokens{where}",
            while_thinking=while_thinking,
            request_id=request_id,
        )
    if stop_reason == "refusal":
        details = stop_details or {}
        category, explanation = details.get("category"), details.get("explanation")
        why = f" [{category}]" if category else ""
        said = f": {explanation}" if explanation else ""
        return Refused(
            f"the model declined to answer (stop_reason refusal{why}){said}; not retried, "
            "and the partial answer is discarded",
            category=category,
            explanation=explanation,
            request_id=request_id,
        )
    return UnexpectedStop(
        f"the answer ended with stop_reason {stop_reason!r}, not a finished text",
        request_id=request_id,
    )


__all__ = [
    "AuthenticationFailed",
    "BillingFailed",
    "Conflict",
    "ConnectFailed",
    "ConnectionDropped",
    "GatewayTimeout",
    "InvalidRequestError",
    "LimitReached",
    "MaxTokensReached",
    "ModelNotFound",
    "NonRetryableError",
    "OutputBudgetSpent",
    "Overloaded",
    "PlannerLLMError",
    "PrefillRefused",
    "RateLimited",
    "Refused",
    "RequestFailed",
    "RequestTooLarge",
    "RetryDeclined",
    "ServerError",
    "SpendLimitReached",
    "StreamCorrupted",
    "StreamErrorEvent",
    "StreamInterrupted",
    "StreamStalled",
    "StreamTruncated",
    "StreamingRequired",
    "ThinkingExhausted",
    "TransientError",
    "UnexpectedStop",
    "classify",
    "for_stop_reason",
    "parse_retry_after",
    "truncated",
]
