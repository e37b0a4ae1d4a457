"""All the changing state of one generation's retry loop, in one object.

Like tenacity's `RetryCallState`: the client updates it after every attempt and hands it
to the strategy pieces, which read it and keep no state of their own.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from planner.llm.errors import PlannerLLMError, PrefillRefused
from planner.llm.types import AttemptKind, AttemptRecord


@dataclass
class AttemptState:
    request: dict[str, Any]
    clock: Callable[[], float]
    rng: random.Random
    started_at: float
    attempt: int = 0
    """Number of the attempt that ran last (1-based; 0 before the first)."""
    kind: AttemptKind = "stream"
    """Kind of the attempt that ran last."""
    text: str = ""
    """Text kept so far: always a prefix of the final answer (for resume)."""
    last_error: PlannerLLMError | None = None
    failures: int = 0
    consecutive_failures: int = 0
    """Failures since an attempt last delivered text; drives the backoff."""
    last_attempt_chars: int = 0
    prefill_allowed: bool = True
    """False once the model refused an assistant prefill: continue with a user turn."""
    upcoming_wait_s: float = 0.0
    attempts: list[AttemptRecord] = field(default_factory=list)

    @property
    def elapsed_s(self) -> float:
        return self.clock() - self.started_at

    @property
    def elapsed_ms(self) -> int:
        return int((self.clock() - self.started_at) * 1000)

    def record_failure(self, error: PlannerLLMError, chars_delivered: int) -> None:
        self.last_error = error
        self.failures += 1
        self.last_attempt_chars = chars_delivered
        self.consecutive_failures = 1 if chars_delivered else self.consecutive_failures + 1
        if isinstance(error, PrefillRefused):
            self.prefill_allowed = False
