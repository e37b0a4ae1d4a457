"""The `anthropic-ratelimit-*` headers the API sends with every Messages response.

Four families, each with `-limit`, `-remaining` and `-reset` (RFC 3339, when the window
refills): `requests`, `tokens` (input plus output), `input-tokens` and `output-tokens`.
The simulator counts per simulated minute against fixed limits (a generous tier: it
never rejects on them; a `429` comes only from an `http_error` fault), so the figures
move the way a client watching them would expect: each request takes one request and its
tokens from the minute it arrived in.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from planner.sim.timing import SimClock

WINDOW_S = 60.0
PREFIX = "anthropic-ratelimit-"


@dataclass(frozen=True)
class Limits:
    requests: int = 4_000
    input_tokens: int = 2_000_000
    output_tokens: int = 400_000

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens


class RateLimits:
    """Per-minute usage in simulated time, and the headers that report it."""

    def __init__(
        self,
        limits: Limits | None = None,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.limits = limits or Limits()
        self._wall_clock = wall_clock
        self._lock = threading.Lock()
        self._window = -1
        self._used = {"requests": 0, "input": 0, "output": 0}

    def take(
        self, clock: SimClock, input_tokens: int = 0, output_tokens: int = 0
    ) -> dict[str, str]:
        """Count one request in the current window; the headers for its response."""
        now_s = clock.now()
        window = math.floor(now_s / WINDOW_S)
        with self._lock:
            if window != self._window:
                self._window = window
                self._used = {"requests": 0, "input": 0, "output": 0}
            used = self._used
            used["requests"] += 1
            used["input"] += input_tokens
            used["output"] += output_tokens
            snapshot = dict(used)
        left_s = clock.real_seconds((window + 1) * WINDOW_S - now_s)
        reset = (self._wall_clock() + timedelta(seconds=left_s)).strftime("%Y-%m-%dT%H:%M:%SZ")
        limits = self.limits
        families = {
            "requests": (limits.requests, snapshot["requests"]),
            "tokens": (limits.tokens, snapshot["input"] + snapshot["output"]),
            "input-tokens": (limits.input_tokens, snapshot["input"]),
            "output-tokens": (limits.output_tokens, snapshot["output"]),
        }
        headers = {}
        for family, (limit, used_now) in families.items():
            headers[f"{PREFIX}{family}-limit"] = str(limit)
            headers[f"{PREFIX}{family}-remaining"] = str(max(0, limit - used_now))
            headers[f"{PREFIX}{family}-reset"] = reset
        return headers


__all__ = ["Limits", "RateLimits"]
