"""One HTTP attempt against the Messages API through the official SDK.

A streaming attempt reads the SDK's raw stream events (text and thinking deltas, usage from
`message_start` and `message_delta` with its thinking tokens, the stop reason and its
`stop_details`, `message_stop`) and feeds text to a sink; it records the HTTP status and
the `anthropic-ratelimit-*` headers of the response (or of the error). A non-streaming
attempt makes one `messages.create` call. Either way every failure leaves here already
classified (`planner.llm.errors`), together with whatever arrived before it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anthropic
import httpx2

from planner.llm import errors
from planner.llm.types import Usage

COMPLETE_STOP_REASONS = frozenset({"end_turn", "stop_sequence"})


RATE_LIMIT_PREFIX = "anthropic-ratelimit-"


def rate_limit_headers(headers: httpx2.Headers) -> dict[str, str]:
    """The `anthropic-ratelimit-*` headers and `retry-after`, as the response sent them."""
    return {
        name: value
        for name, value in headers.items()
        if name.startswith(RATE_LIMIT_PREFIX) or name in ("retry-after", "retry-after-ms")
    }


@dataclass
class AttemptOutcome:
    received: list[str] = field(default_factory=list)
    """The text deltas as they arrived (before any seam trimming)."""
    thinking: list[str] = field(default_factory=list)
    """The thinking deltas (empty with `display: omitted`, where only the count is known)."""
    thought: bool = False
    """A thinking (or redacted thinking) block started."""
    usage: Usage = field(default_factory=Usage)
    usage_reported: bool = False
    """The server reported the attempt's final output tokens (message_delta / a response)."""
    thinking_reported: bool = False
    """The server reported the thinking tokens (`output_tokens_details`)."""
    stop_reason: str | None = None
    stop_details: dict[str, str | None] | None = None
    request_id: str | None = None
    http_status: int | None = None
    rate_limit: dict[str, str] = field(default_factory=dict)
    error: errors.PlannerLLMError | None = None

    @property
    def received_chars(self) -> int:
        return sum(len(delta) for delta in self.received)

    @property
    def complete(self) -> bool:
        return self.error is None and self.stop_reason in COMPLETE_STOP_REASONS


def _finish(outcome: AttemptOutcome, saw_message_stop: bool) -> None:
    if outcome.stop_reason is None or not saw_message_stop:
        outcome.error = errors.truncated(outcome.request_id, saw_message_stop)
    elif outcome.stop_reason not in COMPLETE_STOP_REASONS:
        outcome.error = errors.for_stop_reason(
            outcome.stop_reason,
            outcome.request_id,
            while_thinking=outcome.thought and not outcome.received,
            stop_details=outcome.stop_details,
        )


def _fail(outcome: AttemptOutcome, exc: Exception, prefill_probe: bool) -> None:
    if isinstance(exc, anthropic.APIStatusError):
        outcome.http_status = outcome.http_status or exc.status_code
        outcome.rate_limit = outcome.rate_limit or rate_limit_headers(exc.response.headers)
    failure = errors.classify(exc, request_id=outcome.request_id, prefill_probe=prefill_probe)
    if failure is None:
        raise exc
    if failure.request_id is None:
        failure.request_id = outcome.request_id
    outcome.request_id = outcome.request_id or failure.request_id
    outcome.error = failure


def _read_usage(
    usage: Usage, reported: anthropic.types.Usage | anthropic.types.MessageDeltaUsage
) -> bool:
    """Copy a usage object of the SDK into planner's; True when it gave thinking tokens."""
    usage.output_tokens = reported.output_tokens or 0
    if reported.input_tokens is not None:
        usage.input_tokens = reported.input_tokens
    if reported.cache_creation_input_tokens is not None:
        usage.cache_creation_input_tokens = reported.cache_creation_input_tokens
    if reported.cache_read_input_tokens is not None:
        usage.cache_read_input_tokens = reported.cache_read_input_tokens
    # Only `Usage` (message_start, a whole message) has the breakdown by TTL.
    if isinstance(reported, anthropic.types.Usage) and reported.cache_creation is not None:
        usage.cache_creation_1h_input_tokens = reported.cache_creation.ephemeral_1h_input_tokens
    details = reported.output_tokens_details
    if details is None:
        return False
    usage.thinking_tokens = details.thinking_tokens
    return True


def run_stream(
    sdk: anthropic.Anthropic,
    request: dict[str, Any],
    extra_headers: dict[str, str],
    on_text: Callable[[str], None],
    on_thinking: Callable[[str], None] | None = None,
    *,
    prefill_probe: bool = False,
) -> AttemptOutcome:
    """One streaming attempt. `on_thinking` hears of every thinking delta (and of the
    start of a thinking block with ""), so progress can show a thinking phase."""
    outcome = AttemptOutcome()
    usage = outcome.usage
    received = outcome.received
    saw_message_stop = False
    try:
        # The raw event stream, not the `messages.stream()` helper: the helper rebuilds a
        # snapshot of the whole message and an extra event object for every delta, which
        # planner does not use (it keeps its own text) and which costs more than all of
        # planner's own per-delta work.
        with sdk.messages.create(**request, stream=True, extra_headers=extra_headers) as stream:
            response = stream.response
            outcome.request_id = response.headers.get("request-id")
            outcome.http_status = response.status_code
            outcome.rate_limit = rate_limit_headers(response.headers)
            for event in stream:
                kind = event.type
                if kind == "content_block_delta":
                    delta = event.delta
                    delta_type = delta.type
                    if delta_type == "text_delta":
                        text = delta.text
                        received.append(text)
                        on_text(text)
                    elif delta_type == "thinking_delta":
                        outcome.thinking.append(delta.thinking)
                        if on_thinking is not None:
                            on_thinking(delta.thinking)
                elif kind == "content_block_start":
                    if event.content_block.type in ("thinking", "redacted_thinking"):
                        outcome.thought = True
                        if on_thinking is not None:
                            on_thinking("")
                elif kind == "message_start":
                    outcome.thinking_reported = _read_usage(usage, event.message.usage)
                elif kind == "message_delta":
                    delta = event.delta
                    outcome.stop_reason = delta.stop_reason
                    if delta.stop_details is not None:
                        outcome.stop_details = {
                            "category": delta.stop_details.category,
                            "explanation": delta.stop_details.explanation,
                        }
                    outcome.thinking_reported |= _read_usage(usage, event.usage)
                    outcome.usage_reported = True
                elif kind == "message_stop":
                    saw_message_stop = True
    except Exception as exc:  # classified below; anything else is re-raised
        _fail(outcome, exc, prefill_probe)
        return outcome
    _finish(outcome, saw_message_stop)
    return outcome


def run_nonstream(
    sdk: anthropic.Anthropic,
    request: dict[str, Any],
    extra_headers: dict[str, str],
) -> AttemptOutcome:
    """One `messages.create` call through an SDK client on the SDK's default timeout, so
    the SDK's own long-request guard decides (a request that may take over ten minutes
    must stream: `ValueError` before anything is sent), as it did for the original system."""
    outcome = AttemptOutcome()
    try:
        raw = sdk.messages.with_raw_response.create(**request, extra_headers=extra_headers)
        outcome.request_id = raw.headers.get("request-id")
        outcome.http_status = raw.status_code
        outcome.rate_limit = rate_limit_headers(raw.headers)
        message = raw.parse()
    except ValueError as exc:
        outcome.error = errors.StreamingRequired(
            f"the SDK refused the non-streaming call before sending it: {exc}"
        )
        return outcome
    except Exception as exc:  # classified below; anything else is re-raised
        _fail(outcome, exc, prefill_probe=False)
        return outcome
    outcome.received = [block.text for block in message.content if block.type == "text"]
    outcome.thought = any(
        block.type in ("thinking", "redacted_thinking") for block in message.content
    )
    outcome.thinking = [block.thinking for block in message.content if block.type == "thinking"]
    outcome.stop_reason = message.stop_reason
    outcome.thinking_reported = _read_usage(outcome.usage, message.usage)
    if message.stop_details is not None:
        outcome.stop_details = {
            "category": message.stop_details.category,
            "explanation": message.stop_details.explanation,
        }
    outcome.usage_reported = True
    _finish(outcome, saw_message_stop=True)
    return outcome
