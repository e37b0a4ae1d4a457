"""planner's LLM failures, and the one place that translates SDK and transport errors.

Every exception the `anthropic` SDK or `httpx2` can raise while planner talks to the
Messages API goes through `classify()`, which maps it, most specific first, to this tree;
the strategies only ever look at these types. Its root hangs under `planner.errors.LLMError`,
so a front end that catches `PlannerError` catches these too::

    LLMError (planner.errors)
    └── PlannerLLMError
        ├── NonRetryableError        fail at once: retrying cannot help
        │   ├── InvalidRequestError  400 invalid_request_error (and 413, 422, ...)
        │   ├── AuthenticationFailed 401 / 403
        │   ├── ModelNotFound        404
        │   ├── Refused              stop_reason "refusal"
        │   └── UnexpectedStop       tool_use, pause_turn, ...: not a text answer
        ├── PrefillRefused           400: this model does not accept an assistant prefill
        ├── MaxTokensReached         the answer stopped at max_tokens (only continuing helps)
        └── TransientError           worth another attempt
            ├── RequestFailed        HTTP error before the stream started (.retry_after_s)
            │   ├── RateLimited      429
            │   ├── Overloaded       529
            │   └── ServerError      500, 502, 503, 504, 408, 409, ...
            ├── ConnectFailed        no response at all (refused, DNS, connect/read timeout)
            └── StreamInterrupted    the response started (or was awaited), then broke
                ├── ConnectionDropped  raw httpx2 RemoteProtocolError / ReadError mid-stream,
                │                      or the connection cut while awaiting a whole message
                ├── StreamStalled      no byte within the read timeout
                ├── StreamErrorEvent   SSE `error` event (.error_type: overloaded_error, ...)
                ├── StreamCorrupted    undecodable event data
                └── StreamTruncated    ended without message_stop / stop_reason

Each failure has a short stable `kind` (recorded as the attempt's error type) and a message
a person can act on.
"""

from __future__ import annotations

import email.utils
import json
import time

import anthropic
import httpx2

from planner.errors import LLMError


class PlannerLLMError(LLMError):
    kind = "error"

    def __init__(self, message: str, *, request_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.request_id = request_id


class NonRetryableError(PlannerLLMError):
    kind = "non_retryable"


class InvalidRequestError(NonRetryableError):
    kind = "invalid_request"


class AuthenticationFailed(NonRetryableError):
    kind = "authentication"


class ModelNotFound(NonRetryableError):
    kind = "not_found"


class Refused(NonRetryableError):
    kind = "refusal"


class UnexpectedStop(NonRetryableError):
    kind = "unexpected_stop"


class PrefillRefused(PlannerLLMError):
    kind = "prefill_refused"


class MaxTokensReached(PlannerLLMError):
    kind = "max_tokens"


class TransientError(PlannerLLMError):
    kind = "transient"


class RequestFailed(TransientError):
    kind = "http_error"

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        retry_after_s: float | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message, request_id=request_id)
        self.status_code = status_code
        self.retry_after_s = retry_after_s


class RateLimited(RequestFailed):
    kind = "rate_limited"


class Overloaded(RequestFailed):
    kind = "overloaded"


class ServerError(RequestFailed):
    kind = "server_error"


class ConnectFailed(TransientError):
    kind = "connect_failed"


class StreamInterrupted(TransientError):
    kind = "interrupted"


class ConnectionDropped(StreamInterrupted):
    kind = "connection_dropped"


class StreamStalled(StreamInterrupted):
    kind = "stalled"


class StreamErrorEvent(StreamInterrupted):
    kind = "sse_error"

    def __init__(self, message: str, *, error_type: str, request_id: str | None = None) -> None:
        super().__init__(message, request_id=request_id)
        self.error_type = error_type


class StreamCorrupted(StreamInterrupted):
    kind = "corrupted"


class StreamTruncated(StreamInterrupted):
    kind = "truncated"


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


def _from_status_error(exc: anthropic.APIStatusError) -> PlannerLLMError:
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
    if status == 400 and any(word in detail.lower() for word in _PREFILL_WORDS):
        return PrefillRefused(
            f"the model does not accept an assistant prefill (400): {detail}", request_id=request_id
        )
    retry_after = parse_retry_after(exc.response.headers)
    if status == 429:
        return RateLimited(
            f"rate limited (429 {error_type}): {detail}",
            status_code=status,
            retry_after_s=retry_after,
            request_id=request_id,
        )
    if status == 529 or error_type == "overloaded_error":
        return Overloaded(
            f"the API is overloaded ({status} {error_type}): {detail}",
            status_code=status,
            retry_after_s=retry_after,
            request_id=request_id,
        )
    if status >= 500 or status in (408, 409):
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
    if status == 404:
        return ModelNotFound(
            f"not found (404 {error_type}): {detail}. "
            "Check the model name and the base URL; not retried.",
            request_id=request_id,
        )
    return InvalidRequestError(
        f"the API rejected the request ({status} {error_type}): {detail}. Not retried.",
        request_id=request_id,
    )


def classify(exc: BaseException, *, request_id: str | None = None) -> PlannerLLMError | None:
    """The planner failure for anything raised while requesting or reading a response.

    `request_id` is the id of the response being read, when one had started; errors that
    carry their own id keep it. Exceptions that are not about the API (programming errors)
    give None: the caller lets them propagate.
    """
    if isinstance(exc, PlannerLLMError):
        return exc
    if isinstance(exc, anthropic.APIStatusError):
        return _from_status_error(exc)
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


def for_stop_reason(stop_reason: str, request_id: str | None) -> PlannerLLMError:
    """The failure for an answer that ended normally but is not a complete text answer."""
    if stop_reason == "max_tokens":
        return MaxTokensReached("the answer stopped at max_tokens", request_id=request_id)
    if stop_reason == "refusal":
        return Refused("the model refused to answer (stop_reason refusal)", request_id=request_id)
    return UnexpectedStop(
        f"the answer ended with stop_reason {stop_reason!r}, not a finished text",
        request_id=request_id,
    )
