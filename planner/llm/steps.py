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

from planner.llm.state import AttemptState
from planner.llm.stitching import continuation_request, prefill_request
from planner.llm.types import AttemptKind, Tier

HYBRID_PARTIAL_MIN_CHARS = 100


@dataclass(frozen=True)
class NextAttempt:
    """Run another attempt: what to send, and what of the text so far to keep."""

    kind: AttemptKind
    request: dict[str, Any]
    kept_text: str
    decision: Literal["retry", "resume", "continue", "nonstream"]
    tier: Tier
    """The tier the generation ends with if this attempt completes it."""
    join_seam: bool = False
    """The continuation may repeat the end of the kept text: cut the overlap."""


@dataclass(frozen=True)
class Finish:
    """Stop here: return the text so far as an incomplete answer, or fail."""

    decision: Literal["partial", "give_up"]
    tier: Tier


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


class continue_from_text(step_base):
    """Prefill while the model accepts it, else a follow-up user turn and seam joining."""

    def __call__(self, state: AttemptState) -> NextStep:
        kept = state.text.rstrip()
        if not kept:
            return NextAttempt("stream", state.request, "", "retry", "resume")
        if state.prefill_allowed:
            return NextAttempt(
                "resume", prefill_request(state.request, kept), kept, "resume", "resume"
            )
        return NextAttempt(
            "continue",
            continuation_request(state.request, kept),
            kept,
            "continue",
            "resume",
            join_seam=True,
        )


class partial_or_nonstream(step_base):
    """Hybrid: a partial answer over `min_chars` is returned (incomplete); else one
    non-streaming call of the original request."""

    def __init__(self, min_chars: int = HYBRID_PARTIAL_MIN_CHARS) -> None:
        self.min_chars = min_chars

    def __call__(self, state: AttemptState) -> NextStep:
        if len(state.text) > self.min_chars:
            return Finish("partial", "partial")
        return NextAttempt("nonstream", state.request, "", "nonstream", "nonstream")
