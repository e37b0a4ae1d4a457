"""Recovery strategies composed of small pieces, tenacity style.

A strategy answers four questions about the `AttemptState` after a failed attempt, each
with a tiny callable object: is the failure *recoverable*, *how to continue* (a next
attempt, or a final answer such as hybrid's partial text), how long to *wait*, and when to
*stop*. The pieces keep no state; everything that changes lives in the `AttemptState`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from planner.llm.errors import (
    MaxTokensReached,
    PrefillRefused,
    RequestFailed,
    TransientError,
)
from planner.llm.state import AttemptState
from planner.llm.stitching import continuation_request, prefill_request
from planner.llm.types import AttemptKind, Tier

STRATEGIES: tuple[str, ...] = ("none", "hybrid", "restart", "resume")
DEFAULT_STRATEGY = "resume"
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


# --- is the failure recoverable ------------------------------------------------------


class retry_never:
    def __call__(self, state: AttemptState) -> bool:
        return False


class retry_if_transient:
    """Network, server and stream failures; not bad requests, refusals or max_tokens."""

    def __call__(self, state: AttemptState) -> bool:
        return isinstance(state.last_error, TransientError)


class retry_if_continuable:
    """Transient failures, plus what only continuing can fix: max_tokens, and a refused
    prefill of planner's own (a prefill in the caller's request is the caller's error)."""

    def __call__(self, state: AttemptState) -> bool:
        if isinstance(state.last_error, PrefillRefused):
            return state.kind == "resume"
        return isinstance(state.last_error, TransientError | MaxTokensReached)


class retry_if_stream_failed:
    """The original system's rule: any failure of the streaming call, once."""

    def __call__(self, state: AttemptState) -> bool:
        return state.kind != "nonstream" and isinstance(
            state.last_error, TransientError | MaxTokensReached
        )


# --- how to continue -----------------------------------------------------------------


class give_up:
    def __call__(self, state: AttemptState) -> NextStep:
        return Finish("give_up", "failed")


class start_over:
    def __call__(self, state: AttemptState) -> NextStep:
        return NextAttempt("stream", state.request, "", "retry", "restart")


class continue_from_text:
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


class partial_or_nonstream:
    """Hybrid: a partial answer over `min_chars` is returned (incomplete); else one
    non-streaming call of the original request."""

    def __init__(self, min_chars: int = HYBRID_PARTIAL_MIN_CHARS) -> None:
        self.min_chars = min_chars

    def __call__(self, state: AttemptState) -> NextStep:
        if len(state.text) > self.min_chars:
            return Finish("partial", "partial")
        return NextAttempt("nonstream", state.request, "", "nonstream", "nonstream")


# --- how long to wait ----------------------------------------------------------------


class wait_none:
    def __call__(self, state: AttemptState) -> float:
        return 0.0


class wait_exponential_jitter:
    """initial * 2**(n-1) plus up to `jitter` seconds, capped at `maximum`, where n counts
    failures since text last arrived; no wait for what is not a network or server failure."""

    def __init__(self, initial: float = 0.5, maximum: float = 8.0, jitter: float = 0.5) -> None:
        self.initial = initial
        self.maximum = maximum
        self.jitter = jitter

    def __call__(self, state: AttemptState) -> float:
        if not isinstance(state.last_error, TransientError):
            return 0.0
        exponent = max(0, state.consecutive_failures - 1)
        backoff = self.initial * 2.0 ** min(exponent, 30)
        return min(self.maximum, backoff + state.rng.uniform(0, self.jitter))


class wait_retry_after_or:
    """What the server asked for (`retry-after-ms` / `retry-after`), else `fallback`."""

    def __init__(self, fallback: Callable[[AttemptState], float], maximum: float = 120.0) -> None:
        self.fallback = fallback
        self.maximum = maximum

    def __call__(self, state: AttemptState) -> float:
        error = state.last_error
        if isinstance(error, RequestFailed) and error.retry_after_s is not None:
            return min(self.maximum, error.retry_after_s)
        return self.fallback(state)


# --- when to stop --------------------------------------------------------------------


class stop_never:
    def __call__(self, state: AttemptState) -> bool:
        return False


class stop_after_attempt:
    def __init__(self, max_attempts: int) -> None:
        self.max_attempts = max_attempts

    def __call__(self, state: AttemptState) -> bool:
        return state.attempt >= self.max_attempts


class stop_before_deadline:
    """Stop if waiting for the next attempt would already pass the overall deadline."""

    def __init__(self, deadline_s: float) -> None:
        self.deadline_s = deadline_s

    def __call__(self, state: AttemptState) -> bool:
        return state.elapsed_s + state.upcoming_wait_s >= self.deadline_s


class stop_any:
    def __init__(self, *stops: Callable[[AttemptState], bool]) -> None:
        self.stops = stops

    def __call__(self, state: AttemptState) -> bool:
        return any(stop(state) for stop in self.stops)


# --- strategies ----------------------------------------------------------------------


@dataclass(frozen=True)
class Strategy:
    name: str
    recoverable: Callable[[AttemptState], bool]
    next_step: Callable[[AttemptState], NextStep]
    wait: Callable[[AttemptState], float]
    stop: Callable[[AttemptState], bool]


def build_strategy(name: str, *, max_attempts: int = 10, deadline_s: float = 1800.0) -> Strategy:
    """The named strategy with these limits (hybrid keeps the original's single retry)."""
    backoff = wait_retry_after_or(wait_exponential_jitter())
    limits = stop_any(stop_after_attempt(max_attempts), stop_before_deadline(deadline_s))
    if name == "none":
        return Strategy(name, retry_never(), give_up(), wait_none(), stop_never())
    if name == "hybrid":
        return Strategy(
            name,
            retry_if_stream_failed(),
            partial_or_nonstream(),
            wait_none(),
            stop_before_deadline(deadline_s),
        )
    if name == "restart":
        return Strategy(name, retry_if_transient(), start_over(), backoff, limits)
    if name == "resume":
        return Strategy(name, retry_if_continuable(), continue_from_text(), backoff, limits)
    raise ValueError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
