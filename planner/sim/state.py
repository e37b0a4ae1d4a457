"""A simulator's changing state: fault spec, per-run request numbers, stats, prompt cache.

It also holds what a simulator is made of: the model it serves (behind the `Responder`
that caches its answers) and the clock it keeps time by.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import date
from typing import Any

from planner.protocol import RunKey
from planner.sim.cache import PromptCache
from planner.sim.conversation import Responder
from planner.sim.ratelimit import RateLimits
from planner.sim.spec import FaultSpec
from planner.sim.timing import SimClock
from planner.sim.toxic import Fault


class SimState:
    def __init__(
        self,
        spec: FaultSpec,
        clock: SimClock,
        seed: int,
        api_key: str | None,
        responder: Responder,
        today: Callable[[], date] = date.today,
    ) -> None:
        self.clock = clock
        self.today = today  # which models are retired is decided by this date
        self.seed = seed
        self.api_key = api_key
        self.responder = responder
        self.cache = PromptCache(self.clock.now)
        self.rate_limits = RateLimits()
        self._spec = spec
        self._lock = threading.Lock()
        self._request_numbers: Counter[RunKey] = Counter()
        self._counters: Counter[str] = Counter()
        self._statuses: Counter[int] = Counter()
        self._faults_fired: Counter[str] = Counter()
        self._answers: Counter[str] = Counter()
        self.active_streams = 0

    @property
    def spec(self) -> FaultSpec:
        return self._spec

    def set_spec(self, spec: FaultSpec) -> None:
        with self._lock:
            self._spec = spec

    def next_request_number(self, run_key: RunKey) -> int:
        """1-based, counted per whole key (run id and scope)."""
        with self._lock:
            self._request_numbers[run_key] += 1
            return self._request_numbers[run_key]

    def count(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self._counters[name] += amount

    def record_status(self, status: int) -> None:
        with self._lock:
            self._statuses[status] += 1

    def count_answer(self, kind: str) -> None:
        with self._lock:
            self._answers[kind] += 1

    def record_faults(self, fired: tuple[Fault, ...]) -> None:
        with self._lock:
            for fault in fired:
                self._faults_fired[fault.type] += 1

    def stats(self, run: RunKey | None = None) -> dict[str, Any]:
        """The totals; with `run`, also that run key's requests (`run_requests`: 0 for a
        key never seen), exact however many other runs share the simulator."""
        with self._lock:
            per_run = {} if run is None else {"run_requests": self._request_numbers[run]}
            return {
                **per_run,
                "requests": self._counters["requests"],
                "messages": self._counters["messages"],
                "streams": self._counters["streams"],
                "active_streams": self.active_streams,
                "output_tokens": self._counters["output_tokens"],
                "deltas": self._counters["deltas"],
                "statuses": {str(k): v for k, v in sorted(self._statuses.items())},
                "faults_fired": dict(sorted(self._faults_fired.items())),
                "answers": dict(sorted(self._answers.items())),
                "runs": len(self._request_numbers),
                "faults": self._spec.text,
                "speed": self.clock.speed,
                "seed": self.seed,
            }
