"""How to go on after a recoverable failure: the next attempt, or a final answer.

A step is a tiny stateless object whose `__call__(state)` returns a `NextAttempt` (what to
send, and which of the text so far the attempt writes on after) or a `Finish` (hybrid's
partial answer, or giving up). This is the piece tenacity has no counterpart for: its
loop retries the same call, planner's changes the request, continuing from the text
already received.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any, Literal

from planner import catalog
from planner.llm.errors import MaxTokensReached, PlannerLLMError, ThinkingExhausted
from planner.llm.state import AttemptState
from planner.llm.stitching import continuation_request, prefill_request
from planner.llm.types import AttemptKind, Tier

EFFORT_LEVELS = ("low", "medium", "high", "xhigh", "max")
Adjustment = Literal["raise_max_tokens", "lower_effort"]
MIN_THINKING_BUDGET_TOKENS = 1024

HYBRID_PARTIAL_MIN_CHARS = 100


@dataclass(frozen=True)
class NextAttempt:
    """Run another attempt: what to send, and what of the text so far to keep."""

    kind: AttemptKind
    request: dict[str, Any]
    kept_text: str
    decision: Literal[
        "retry", "resume", "continue", "nonstream", "raise_max_tokens", "lower_effort"
    ]
    tier: Tier
    """The tier the generation ends with if this attempt completes it."""
    join_seam: bool = False
    """The continuation may repeat the end of the kept text: cut the overlap."""
    resent_whitespace: str = ""
    """Trailing whitespace of the kept text left out of a prefill (the API refuses it);
    the model writes it again, and that repeat is dropped, so nothing delivered is taken
    back."""
    adjusted_request: dict[str, Any] | None = None
    """The generation's request from now on (more max_tokens, lower effort)."""
    adjustment: str | None = None
    """That change in words, for the attempt timeline."""


@dataclass(frozen=True)
class Finish:
    """Stop here: return the text so far as an incomplete answer, or fail."""

    decision: Literal["partial", "give_up"]
    tier: Tier
    error: PlannerLLMError | None = None
    """Why, when it is not the last attempt's own failure."""


NextStep = NextAttempt | Finish


class step_base(abc.ABC):
    """What to do after a failure the strategy found recoverable."""

    @abc.abstractmethod
    def __call__(self, state: AttemptState) -> NextStep: ...


class give_up(step_base):
    def __call__(self, state: AttemptState) -> NextStep:
        return Finish("give_up", "failed")


class start_over(step_base):
    """The original request again, from nothing."""

    def __call__(self, state: AttemptState) -> NextStep:
        return NextAttempt("stream", state.request, "", "retry", "restart")


def _resume_from(
    state: AttemptState, request: dict[str, Any], tier: Tier = "resume"
) -> NextAttempt:
    """Prefill where allowed, else a continuation turn, from all the text kept so far."""
    kept = state.text
    if not kept.strip():
        return NextAttempt("stream", request, "", "retry", tier)
    ttl = state.cache_ttl
    if state.prefill_allowed:
        prefill = kept.rstrip()
        return NextAttempt(
            "resume",
            prefill_request(request, prefill, cache_ttl=ttl, cached=state.resent_segments),
            kept,
            "resume",
            tier,
            resent_whitespace=kept[len(prefill) :],
        )
    return NextAttempt(
        "continue",
        continuation_request(request, kept, cache_ttl=ttl, cached=state.resent_segments),
        kept,
        "continue",
        tier,
        join_seam=True,
    )


def _more_room_to_think(state: AttemptState, error: MaxTokensReached) -> NextStep:
    """max_tokens ran out while the model was still thinking: the identical request would
    end the same way. More max_tokens (doubled, within the model's output cap and the
    budget left), else lower effort (one level, or half the manual thinking budget), else
    fail; whichever is chosen is recorded."""
    request = state.request
    max_tokens = int(request["max_tokens"])
    spec = catalog.lookup(str(request.get("model", "")))
    cap = spec.max_output_tokens if spec is not None and spec.max_output_tokens else max_tokens
    left = state.budget_left
    raised = min(cap, max_tokens * 2, left if left is not None else cap)
    if raised > max_tokens:
        adjusted = {**request, "max_tokens": raised}
        return _adjusted(
            state, adjusted, "raise_max_tokens", f"max_tokens {max_tokens} -> {raised}"
        )
    config = request.get("output_config")
    effort = config.get("effort") if isinstance(config, dict) else None
    if effort in EFFORT_LEVELS[1:]:
        lower = EFFORT_LEVELS[EFFORT_LEVELS.index(effort) - 1]
        adjusted = {**request, "output_config": {**config, "effort": lower}}
        return _adjusted(state, adjusted, "lower_effort", f"effort {effort} -> {lower}")
    thinking = request.get("thinking")
    budget = thinking.get("budget_tokens") if isinstance(thinking, dict) else None
    if isinstance(budget, int) and budget > MIN_THINKING_BUDGET_TOKENS:
        halved = max(MIN_THINKING_BUDGET_TOKENS, budget // 2)
        adjusted = {**request, "thinking": {**thinking, "budget_tokens": halved}}
        return _adjusted(
            state, adjusted, "lower_effort", f"thinking budget_tokens {budget} -> {halved}"
        )
    return Finish(
        "give_up",
        "failed",
        ThinkingExhausted(
            f"max_tokens ({max_tokens}) ran out while the model was still thinking, and "
            "nothing is left to change (output cap or budget reached, effort and thinking "
            "budget at their lowest); give the generation a larger output budget or "
            "ask for less thinking",
            request_id=error.request_id,
        ),
    )


def _adjusted(
    state: AttemptState, adjusted: dict[str, Any], decision: Adjustment, adjustment: str
) -> NextAttempt:
    step = _resume_from(state, adjusted)
    return NextAttempt(
        step.kind,
        step.request,
        step.kept_text,
        decision,
        step.tier,
        join_seam=step.join_seam,
        resent_whitespace=step.resent_whitespace,
        adjusted_request=adjusted,
        adjustment=adjustment,
    )


class continue_from_text(step_base):
    """Prefill while the model accepts it, else a follow-up user turn and seam joining;
    after max_tokens ran out while thinking, a changed request (`_more_room_to_think`)."""

    def __call__(self, state: AttemptState) -> NextStep:
        error = state.last_error
        if isinstance(error, MaxTokensReached) and error.while_thinking:
            return _more_room_to_think(state, error)
        return _resume_from(state, state.request)


class partial_or_nonstream(step_base):
    """Hybrid: a partial answer over `min_chars` is returned (incomplete); else one
    non-streaming call of the original request."""

    def __init__(self, min_chars: int = HYBRID_PARTIAL_MIN_CHARS) -> None:
        self.min_chars = min_chars

    def __call__(self, state: AttemptState) -> NextStep:
        if len(state.text) > self.min_chars:
            return Finish("partial", "partial")
        return NextAttempt("nonstream", state.request, "", "nonstream", "nonstream")
