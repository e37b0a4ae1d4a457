"""When each piece of an answer is due, in simulated seconds, and how that maps to real time.

A response is a schedule: the first token after the model's time to first token, then
deltas of a few tokens at the model's pace, each interval with seeded jitter. The
`SimClock` turns simulated seconds into real ones by the `speed` factor; speed 0 or
infinity means unlimited (no waiting at all). Deadlines are absolute, so many
concurrent streams keep their pace even when the event loop is busy for a moment.

Real time itself is a `Timer` (now, sleep), the event loop's by default: tests hand the
simulator a virtual one and read the pace off it instead of racing the wall clock.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from dataclasses import dataclass
from typing import Protocol

from planner.sim.errors import SpeedError

MIN_DELTA_TOKENS = 1
MAX_DELTA_TOKENS = 5
JITTER = 0.35  # each interval is scaled by a factor in [1 - JITTER, 1 + JITTER]


class Timer(Protocol):
    """Real time as the simulator waits on it: monotonic seconds and a sleep."""

    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class LoopTimer:
    """The event loop's own clock (monotonic) and sleep."""

    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


REAL_TIME = LoopTimer()


class SimClock:
    """Simulated time for one simulator: real time multiplied by `speed`."""

    def __init__(self, speed: float, timer: Timer = REAL_TIME) -> None:
        if speed < 0 or math.isnan(speed):
            raise SpeedError(f"speed must be >= 0 (0 or inf = unlimited), got {speed}")
        self.speed = speed
        self.timer = timer

    def at_speed(self, speed: float) -> SimClock:
        """The same real time at another speed (one request's `x-planner-speed`)."""
        return SimClock(speed, self.timer)

    @property
    def unlimited(self) -> bool:
        return self.speed == 0 or math.isinf(self.speed)

    def real_seconds(self, simulated_s: float) -> float:
        return 0.0 if self.unlimited else simulated_s / self.speed

    def now(self) -> float:
        """Simulated seconds since an arbitrary origin (real time when unlimited)."""
        real = self.timer.now()
        return real if self.unlimited else real * self.speed


class Deadline:
    """Waits until simulated offsets from one start instant (absolute, never relative)."""

    def __init__(self, clock: SimClock) -> None:
        self.clock = clock
        self.timer = clock.timer
        self.started = self.timer.now()

    def remaining(self, at_s: float) -> float:
        """Real seconds until `at_s` simulated seconds after the start (< 0: overdue)."""
        return self.started + self.clock.real_seconds(at_s) - self.timer.now()

    async def until(self, at_s: float) -> None:
        wait = self.remaining(at_s)
        if wait > 0:
            await self.timer.sleep(wait)


@dataclass(frozen=True)
class Pace:
    ttft_s: float
    tokens_per_s: float


def delta_sizes(token_count: int, rng: random.Random) -> list[int]:
    """How many tokens each delta carries, a few at a time."""
    sizes = []
    left = token_count
    while left > 0:
        size = min(left, rng.randint(MIN_DELTA_TOKENS, MAX_DELTA_TOKENS))
        sizes.append(size)
        left -= size
    return sizes


def schedule(sizes: list[int], pace: Pace, rng: random.Random) -> list[float]:
    """Simulated due time of each delta, from the request's arrival."""
    due = []
    at = pace.ttft_s * (1 + rng.uniform(-JITTER, JITTER))
    for size in sizes:
        due.append(at)
        at += size / pace.tokens_per_s * (1 + rng.uniform(-JITTER, JITTER))
    return due
