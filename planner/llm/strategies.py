"""Recovery strategies composed of small pieces, tenacity style, and the one registry of them.

A strategy answers four questions about the `AttemptState` after a failed attempt, each
with a tiny stateless piece: is the failure *recoverable* (`planner.llm.retry`), *how to
go on* (`planner.llm.steps`: a next attempt, or a final answer such as hybrid's partial
text), how long to *wait* (`planner.llm.wait`) and when to *stop* (`planner.llm.stop`).
`Strategy.decide` asks them in that order; everything that changes lives in the state.

`REGISTRY` is the only list of strategies: name -> a factory taking the limits, and a
one-line description in words for CLI help and the dashboard. `STRATEGIES` (the names, in
order) and `DEFAULT_STRATEGY` are read from it; `build_strategy` looks names up in it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from planner.errors import InputError
from planner.llm.errors import MaxTokensReached, PrefillRefused, TransientError
from planner.llm.retry import retry_base, retry_if_attempt_kind, retry_if_error, retry_never
from planner.llm.state import AttemptState
from planner.llm.steps import (
    HYBRID_PARTIAL_MIN_CHARS,
    Finish,
    NextStep,
    continue_from_text,
    give_up,
    partial_or_nonstream,
    start_over,
    step_base,
)
from planner.llm.stop import (
    stop_after_attempt,
    stop_after_attempts_without_progress,
    stop_base,
    stop_before_deadline,
    stop_never,
    stop_when_budget_spent,
)
from planner.llm.wait import wait_base, wait_exponential_jitter, wait_none, wait_retry_after_or

GIVE_UP = Finish("give_up", "failed")


@dataclass(frozen=True)
class Decision:
    """What a strategy decided after a failure."""

    step: NextStep
    stopped: bool = False
    """A limit (attempts, deadline) ended a generation that could otherwise have gone on."""


@dataclass(frozen=True)
class Strategy:
    recoverable: retry_base
    next_step: step_base
    wait: wait_base
    stop: stop_base

    def decide(self, state: AttemptState) -> Decision:
        """The next step after the failed attempt in `state`; sets `state.upcoming_wait_s`
        when that step is another attempt (the wait comes before the limits are asked, so
        a deadline can refuse a wait that would pass it)."""
        if not self.recoverable(state):
            return Decision(GIVE_UP)
        step = self.next_step(state)
        if isinstance(step, Finish):
            return Decision(step)
        state.upcoming_wait_s = self.wait(state)
        if self.stop(state):
            return Decision(GIVE_UP, stopped=True)
        return Decision(step)


@dataclass(frozen=True)
class Limits:
    """How long a generation may keep trying."""

    max_attempts: int = 10
    """Failed attempts that brought no text (restart: every attempt, as it keeps nothing)."""
    deadline_s: float = 1800.0
    max_total_attempts: int = 100
    """Every attempt, progress or not: a backstop against an answer that never ends."""


@dataclass(frozen=True)
class RegisteredStrategy:
    name: str
    description: str
    """One line in words, for CLI help and the dashboard."""
    factory: Callable[[Limits], Strategy]


class UnknownStrategy(InputError):
    """A strategy name that is not in the registry."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")


# Streamed attempts: everything but hybrid's own non-streaming retry.
STREAMED_KINDS = ("stream", "resume", "continue")


def _backoff() -> wait_base:
    return wait_retry_after_or(wait_exponential_jitter())


def _none(limits: Limits) -> Strategy:
    return Strategy(retry_never(), give_up(), wait_none(), stop_never())


def _hybrid(limits: Limits) -> Strategy:
    # The original system's rule: any failure of the streaming call, retried once at once.
    return Strategy(
        retry_if_error(TransientError, MaxTokensReached) & retry_if_attempt_kind(*STREAMED_KINDS),
        partial_or_nonstream(),
        wait_none(),
        stop_before_deadline(limits.deadline_s),
    )


def _restart(limits: Limits) -> Strategy:
    return Strategy(
        retry_if_error(TransientError),
        start_over(),
        _backoff(),
        stop_after_attempt(limits.max_attempts)
        | stop_before_deadline(limits.deadline_s)
        | stop_when_budget_spent(),
    )


def _resume(limits: Limits) -> Strategy:
    # max_tokens is only fixed by continuing; a refused prefill only if it was planner's own
    # (a prefill in the caller's request is the caller's error).
    return Strategy(
        retry_if_error(TransientError, MaxTokensReached)
        | (retry_if_error(PrefillRefused) & retry_if_attempt_kind("resume")),
        continue_from_text(),
        _backoff(),
        stop_after_attempts_without_progress(limits.max_attempts)
        | stop_after_attempt(limits.max_total_attempts)
        | stop_before_deadline(limits.deadline_s)
        | stop_when_budget_spent(),
    )


REGISTRY: Mapping[str, RegisteredStrategy] = MappingProxyType(
    {
        entry.name: entry
        for entry in (
            RegisteredStrategy("none", "plain stream; any failure fails the generation", _none),
            RegisteredStrategy(
                "hybrid",
                "the original system: keep a partial answer over "
                f"{HYBRID_PARTIAL_MIN_CHARS} chars, else one non-streaming retry",
                _hybrid,
            ),
            RegisteredStrategy(
                "restart", "retry the whole stream from scratch with backoff", _restart
            ),
            RegisteredStrategy(
                "resume",
                "continue from the text already received: prefill where the model allows it, "
                "else a continuation turn with the repeated overlap removed",
                _resume,
            ),
        )
    }
)
STRATEGIES: tuple[str, ...] = tuple(REGISTRY)
# Looked up, so the default cannot name a strategy that is not registered.
DEFAULT_STRATEGY = REGISTRY["resume"].name


def build_strategy(
    name: str,
    *,
    max_attempts: int = Limits.max_attempts,
    deadline_s: float = Limits.deadline_s,
    max_total_attempts: int = Limits.max_total_attempts,
) -> Strategy:
    """The named strategy with these limits (hybrid keeps the original's single retry)."""
    entry = REGISTRY.get(name)
    if entry is None:
        raise UnknownStrategy(name)
    return entry.factory(Limits(max_attempts, deadline_s, max_total_attempts))
