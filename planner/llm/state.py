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
    """Failures in a row that delivered no text; drives the backoff (0 after progress: a
    connection that dropped after bringing text is reconnected at once)."""
    attempts_without_progress: int = 0
    """Failed attempts that added no text: what `max_attempts` counts."""
    last_attempt_chars: int = 0
    prefill_allowed: bool = True
    """False when an assistant prefill is known to be refused (the catalogue, thinking,
    structured outputs, or a refusal learned): continue with a user turn."""
    accepted: bool = False
    """The API accepted a request of this generation (a response started)."""
    output_budget_tokens: int | None = None
    """Output tokens the whole generation may spend, thinking included (None: no limit)."""
    output_tokens_spent: int = 0
    last_attempt_thought: bool = False
    """The attempt that ran last streamed thinking."""
    upcoming_wait_s: float = 0.0
    cache_ttl: str | None = None
    """`"1h"` to cache the text re-sent on a resume for an hour; None: the default 5 min."""
    resent_segments: tuple[str, ...] = ()
    """The text blocks in which the last resume re-sent the answer (cached then): the next
    resume sends them again unchanged, so their cache entry is read, not written again."""
    adjustments: list[str] = field(default_factory=list)
    """Changes made to the request on the way (more max_tokens, lower effort), in words."""
    attempts: list[AttemptRecord] = field(default_factory=list)

    @property
    def budget_left(self) -> int | None:
        if self.output_budget_tokens is None:
            return None
        return max(0, self.output_budget_tokens - self.output_tokens_spent)

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
        if chars_delivered:
            self.consecutive_failures = 0
        else:
            self.consecutive_failures += 1
            self.attempts_without_progress += 1
        if isinstance(error, PrefillRefused):
            self.prefill_allowed = False
