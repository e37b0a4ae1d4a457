"""planner's LLM failure types; the tree, and what maps SDK errors to them, is in
`planner.llm.errors` (which re-exports every name here)."""

from __future__ import annotations

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


class RequestTooLarge(InvalidRequestError):
    kind = "request_too_large"


class BillingFailed(NonRetryableError):
    kind = "billing"


class SpendLimitReached(NonRetryableError):
    kind = "spend_limit"


class RetryDeclined(NonRetryableError):
    kind = "retry_declined"

    def __init__(self, message: str, *, status_code: int, request_id: str | None = None) -> None:
        super().__init__(message, request_id=request_id)
        self.status_code = status_code


class ModelNotFound(NonRetryableError):
    kind = "not_found"


class StreamingRequired(NonRetryableError):
    kind = "streaming_required"


class Refused(NonRetryableError):
    kind = "refusal"

    def __init__(
        self,
        message: str,
        *,
        category: str | None = None,
        explanation: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message, request_id=request_id)
        self.category = category
        self.explanation = explanation


class UnexpectedStop(NonRetryableError):
    kind = "unexpected_stop"


class LimitReached(NonRetryableError):
    kind = "limit"


class OutputBudgetSpent(LimitReached):
    kind = "budget_spent"


class ThinkingExhausted(LimitReached):
    kind = "thinking_exhausted"


class PrefillRefused(PlannerLLMError):
    kind = "prefill_refused"


class MaxTokensReached(PlannerLLMError):
    kind = "max_tokens"

    def __init__(
        self, message: str, *, while_thinking: bool = False, request_id: str | None = None
    ) -> None:
        super().__init__(message, request_id=request_id)
        self.while_thinking = while_thinking


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


class GatewayTimeout(ServerError):
    kind = "gateway_timeout"


class Conflict(ServerError):
    kind = "conflict"


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
