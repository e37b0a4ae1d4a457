"""What the client tells its caller about failed attempts: recovery notices and the
one-line messages a generation ends with (limits, budget), kept apart from the loop."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from planner.llm.errors import PlannerLLMError, Refused
from planner.llm.state import AttemptState
from planner.llm.steps import NextAttempt, NextStep
from planner.llm.types import AttemptRecord, RecoveryNotice


def report(on_attempt: Callable[[AttemptRecord], None] | None, state: AttemptState) -> None:
    if on_attempt is not None:
        on_attempt(state.attempts[-1])


def within_budget(request: dict[str, Any], budget_left: int | None) -> dict[str, Any]:
    """The request with max_tokens no more than the budget left."""
    if budget_left is None or budget_left >= int(request["max_tokens"]):
        return request
    return {**request, "max_tokens": max(1, budget_left)}


def notice(state: AttemptState, error: PlannerLLMError, step: NextStep) -> RecoveryNotice:
    if isinstance(error, Refused):
        return RecoveryNotice(state.attempt, error.kind, error.message, "discard", "failed", 0, 0.0)
    if isinstance(step, NextAttempt):
        return RecoveryNotice(
            state.attempt,
            error.kind,
            error.message,
            step.decision,
            step.tier,
            len(step.kept_text),
            state.upcoming_wait_s,
        )
    return RecoveryNotice(
        state.attempt, error.kind, error.message, step.decision, step.tier, len(state.text), 0.0
    )


def budget_message(state: AttemptState, error: PlannerLLMError) -> str:
    return (
        f"the output budget of {state.output_budget_tokens} tokens is spent after "
        f"{state.attempt} attempt(s) ({state.output_tokens_spent} output tokens, thinking "
        f"included); the answer is incomplete: {error.message}"
    )


def give_up_message(state: AttemptState, error: PlannerLLMError) -> str:
    return (
        f"gave up after {state.attempt} attempt(s), {state.attempts_without_progress} of them "
        f"without progress, in {state.elapsed_s:.1f} s (attempt or time limit): {error.message}"
    )
