"""How long to wait before the next attempt: waits that add up.

As in tenacity's `wait` module, each wait is a tiny stateless object whose `__call__(state)`
gives seconds, and waits add with `+` (`wait_combine`; `sum()` works too). Randomness
comes from `state.rng`, never from the module `random`, so a seeded state waits the same
every time. The backoff counts failures in a row that brought no text (`consecutive_failures`):
an attempt that made progress resets it to 0 and the next attempt starts at once (the
connection dropped, the server was answering: waiting only delays the answer; issue 18
measured 25–30 ms of backoff per drop that the oracle does not spend), so backoff is kept
for failures that made no progress.
"""

from __future__ import annotations

import abc

from planner.llm.errors import RequestFailed, TransientError
from planner.llm.state import AttemptState


class wait_base(abc.ABC):
    """Seconds to wait before the next attempt."""

    @abc.abstractmethod
    def __call__(self, state: AttemptState) -> float: ...

    def __add__(self, other: wait_base) -> wait_combine:
        return wait_combine(self, other)

    def __radd__(self, other: object) -> wait_base:
        # `sum(waits)` starts from 0; a number plus a wait means nothing else.
        if other == 0:
            return self
        return NotImplemented


class wait_combine(wait_base):
    """The sum of the waits."""

    def __init__(self, *waits: wait_base) -> None:
        self.waits = waits

    def __call__(self, state: AttemptState) -> float:
        return sum(wait(state) for wait in self.waits)


class wait_none(wait_base):
    def __call__(self, state: AttemptState) -> float:
        return 0.0


class wait_exponential_jitter(wait_base):
    """initial * 2**(n-1) plus up to `jitter` seconds, capped at `maximum`, where n counts
    failures in a row that brought no text; no wait after an attempt that made progress
    (n = 0) or for what is not a network or server failure."""

    def __init__(self, initial: float = 0.5, maximum: float = 8.0, jitter: float = 0.5) -> None:
        self.initial = initial
        self.maximum = maximum
        self.jitter = jitter

    def __call__(self, state: AttemptState) -> float:
        if not isinstance(state.last_error, TransientError) or state.consecutive_failures == 0:
            return 0.0
        exponent = state.consecutive_failures - 1
        backoff = self.initial * 2.0 ** min(exponent, 30)
        return min(self.maximum, backoff + state.rng.uniform(0, self.jitter))


class wait_retry_after_or(wait_base):
    """What the server asked for (`retry-after-ms` / `retry-after`, at most `maximum`),
    else `fallback`."""

    def __init__(self, fallback: wait_base, maximum: float = 120.0) -> None:
        self.fallback = fallback
        self.maximum = maximum

    def __call__(self, state: AttemptState) -> float:
        error = state.last_error
        if isinstance(error, RequestFailed) and error.retry_after_s is not None:
            return min(self.maximum, error.retry_after_s)
        return self.fallback(state)
