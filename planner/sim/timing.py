"""When each piece of an answer is due, in simulated seconds, and how that maps to real time.

A response is a schedule: the first token after the model's time to first token, then
deltas of a few tokens at the model's pace, each interval with seeded jitter. The
`SimClock` turns simulated seconds into real ones by the `speed` factor; speed 0 or
infinity means unlimited (no waiting at all). Deadlines are absolute, so many
concurrent streams keep their pace even when the event loop is busy for a moment.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from dataclasses import dataclass

from planner.sim.errors import SpeedError

MIN_DELTA_TOKENS = 1
MAX_DELTA_TOKENS = 5
JITTER = 0.35  # each interval is scaled by a factor in [1 - JITTER, 1 + JITTER]


class SimClock:
    """Simulated time for one simulator: real time multiplied by `speed`."""

    def __init__(self, speed: float) -> None:
        if speed < 0 or math.isnan(speed):
            raise SpeedError(f"speed must be >= 0 (0 or inf = unlimited), got {speed}")
        self.speed = speed

    @property
    def unlimited(self) -> bool:
        return self.speed == 0 or math.isinf(self.speed)

    def real_seconds(self, simulated_s: float) -> float:
        return 0.0 if self.unlimited else simulated_s / self.speed

    def now(self) -> float:
        """Simulated seconds since an arbitrary origin (real time when unlimited)."""
        real = time.monotonic()
        return real if self.unlimited else real * self.speed


class Deadline:
    """Waits until simulated offsets from one start instant, on the running loop."""

    def __init__(self, clock: SimClock) -> None:
        self.clock = clock
        self.loop = asyncio.get_running_loop()
        self.started = self.loop.time()

    def elapsed(self) -> float:
        """Simulated seconds since the start (0 when unlimited)."""
        if self.clock.unlimited:
            return 0.0
        return (self.loop.time() - self.started) * self.clock.speed

    def remaining(self, at_s: float) -> float:
        return self.started + self.clock.real_seconds(at_s) - self.loop.time()

    async def until(self, at_s: float) -> None:
        wait = self.remaining(at_s)
        if wait > 0:
            await asyncio.sleep(wait)


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
