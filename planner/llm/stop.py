"""When to give up even though the failure is recoverable: limits that compose.

As in tenacity's `stop` module, each limit is a tiny stateless object whose `__call__(state)`
says "stop now", and limits combine with `|` (`stop_any`: the first limit reached stops)
and `&` (`stop_all`: only all of them together do). A limit is asked after the strategy
has chosen its next attempt and the wait before it (`state.upcoming_wait_s`), so a deadline
can refuse a wait that would already pass it.
"""

from __future__ import annotations

import abc

from planner.llm.state import AttemptState


class stop_base(abc.ABC):
    """A limit on the retry loop: True means give up now."""

    @abc.abstractmethod
    def __call__(self, state: AttemptState) -> bool: ...

    def __or__(self, other: stop_base) -> stop_any:
        return stop_any(self, other)

    def __and__(self, other: stop_base) -> stop_all:
        return stop_all(self, other)


class stop_any(stop_base):
    """Stop when any of the limits is reached."""

    def __init__(self, *stops: stop_base) -> None:
        self.stops = stops

    def __call__(self, state: AttemptState) -> bool:
        return any(stop(state) for stop in self.stops)


class stop_all(stop_base):
    """Stop only when all of the limits are reached."""

    def __init__(self, *stops: stop_base) -> None:
        self.stops = stops

    def __call__(self, state: AttemptState) -> bool:
        return all(stop(state) for stop in self.stops)


class stop_never(stop_base):
    def __call__(self, state: AttemptState) -> bool:
        return False


class stop_after_attempt(stop_base):
    """Stop once `max_attempts` attempts have run."""

    def __init__(self, max_attempts: int) -> None:
        self.max_attempts = max_attempts

    def __call__(self, state: AttemptState) -> bool:
        return state.attempt >= self.max_attempts


class stop_after_attempts_without_progress(stop_base):
    """Stop once `max_attempts` failed attempts brought no text.

    Attempts that advanced the answer are not counted: ten drops that each moved it
    forward are a generation getting there, not one that should give up.
    """

    def __init__(self, max_attempts: int) -> None:
        self.max_attempts = max_attempts

    def __call__(self, state: AttemptState) -> bool:
        return state.attempts_without_progress >= self.max_attempts


class stop_when_budget_spent(stop_base):
    """Stop when the generation's output budget is used up (nothing left for another
    attempt)."""

    def __call__(self, state: AttemptState) -> bool:
        left = state.budget_left
        return left is not None and left <= 0


class stop_before_deadline(stop_base):
    """Stop if waiting for the next attempt would already pass the overall deadline."""

    def __init__(self, deadline_s: float) -> None:
        self.deadline_s = deadline_s

    def __call__(self, state: AttemptState) -> bool:
        return state.elapsed_s + state.upcoming_wait_s >= self.deadline_s
