"""One HTTP attempt against the Messages API through the official SDK.

A streaming attempt reads the SDK's raw stream events (text deltas, usage from
`message_start` and `message_delta`, the stop reason, `message_stop`) and feeds text to a
sink; a non-streaming attempt makes one `messages.create` call. Either way every failure leaves
here already classified (`planner.llm.errors`), together with whatever arrived before it.
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


@dataclass
class AttemptOutcome:
    received: list[str] = field(default_factory=list)
    """The text deltas as they arrived (before any seam trimming)."""
    usage: Usage = field(default_factory=Usage)
    usage_reported: bool = False
    """The server reported the attempt's final output tokens (message_delta / a response)."""
    stop_reason: str | None = None
    request_id: str | None = None
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
        outcome.error = errors.for_stop_reason(outcome.stop_reason, outcome.request_id)


def _fail(outcome: AttemptOutcome, exc: Exception) -> None:
    failure = errors.classify(exc, request_id=outcome.request_id)
    if failure is None:
        raise exc
    if failure.request_id is None:
        failure.request_id = outcome.request_id
    outcome.request_id = outcome.request_id or failure.request_id
    outcome.error = failure


def run_stream(
    sdk: anthropic.Anthropic,
    request: dict[str, Any],
    extra_headers: dict[str, str],
    on_text: Callable[[str], None],
) -> AttemptOutcome:
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
            outcome.request_id = stream.response.headers.get("request-id")
            for event in stream:
                kind = event.type
                if kind == "content_block_delta":
                    delta = event.delta
                    if delta.type == "text_delta":
                        text = delta.text
                        received.append(text)
                        on_text(text)
                elif kind == "message_start":
                    start_usage = event.message.usage
                    usage.input_tokens = start_usage.input_tokens or 0
                    usage.cache_creation_input_tokens = start_usage.cache_creation_input_tokens or 0
                    usage.cache_read_input_tokens = start_usage.cache_read_input_tokens or 0
                    usage.output_tokens = start_usage.output_tokens or 0
                elif kind == "message_delta":
                    outcome.stop_reason = event.delta.stop_reason
                    usage.output_tokens = event.usage.output_tokens
                    outcome.usage_reported = True
                elif kind == "message_stop":
                    saw_message_stop = True
    except Exception as exc:  # classified below; anything else is re-raised
        _fail(outcome, exc)
        return outcome
    _finish(outcome, saw_message_stop)
    return outcome


def run_nonstream(
    sdk: anthropic.Anthropic,
    request: dict[str, Any],
    extra_headers: dict[str, str],
    timeout: httpx2.Timeout,
) -> AttemptOutcome:
    outcome = AttemptOutcome()
    try:
        message = sdk.messages.create(**request, extra_headers=extra_headers, timeout=timeout)
    except Exception as exc:  # classified below; anything else is re-raised
        _fail(outcome, exc)
        return outcome
    outcome.request_id = message._request_id
    outcome.received = [block.text for block in message.content if block.type == "text"]
    outcome.stop_reason = message.stop_reason
    outcome.usage = Usage(
        input_tokens=message.usage.input_tokens or 0,
        output_tokens=message.usage.output_tokens or 0,
        cache_creation_input_tokens=message.usage.cache_creation_input_tokens or 0,
        cache_read_input_tokens=message.usage.cache_read_input_tokens or 0,
    )
    outcome.usage_reported = True
    _finish(outcome, saw_message_stop=True)
    return outcome
