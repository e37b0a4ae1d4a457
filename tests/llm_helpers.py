"""Shared helpers for the resilient client tests: a fake clock, clients on a real simulator,
and bare attempt states for unit tests of the strategy pieces."""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass, field
from typing import Any

from planner.llm import AttemptState, GenerationResult, ResilientClient
from planner.llm.errors import PlannerLLMError
from planner.llm.types import AttemptKind
from planner.protocol import FAULTS_HEADER, RUN_HEADER

REQUEST: dict[str, Any] = {
    "model": "claude-haiku-4-5",
    "max_tokens": 100,
    "messages": [{"role": "user", "content": "Plan a small project."}],
}


@dataclass
class FakeTime:
    """Injected clock and sleep: waits are recorded and advance the clock, nothing blocks."""

    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def make_client(
    base_url: str, strategy: str, fake: FakeTime | None = None, **options: Any
) -> ResilientClient:
    fake = fake or FakeTime()
    return ResilientClient(
        api_key=options.pop("api_key", "x"),
        base_url=base_url,
        strategy=strategy,
        sleep=fake.sleep,
        clock=fake.clock,
        rng=random.Random(7),
        **options,
    )


def spec(*faults: dict[str, Any]) -> str:
    return json.dumps(list(faults))


def generate(
    client: ResilientClient, request: dict[str, Any], faults: str = "none", **kwargs: Any
) -> GenerationResult:
    """One generation with its own run key, so `on_requests` counts from 1."""
    headers = {FAULTS_HEADER: faults, RUN_HEADER: uuid.uuid4().hex}
    headers.update(kwargs.pop("extra_headers", {}))
    return client.generate(request, extra_headers=headers, **kwargs)


def kinds(result: GenerationResult) -> list[tuple[str, str | None]]:
    return [(attempt.kind, attempt.error_type) for attempt in result.attempts]


def make_attempt_state(
    *,
    attempt: int = 1,
    kind: AttemptKind = "stream",
    text: str = "",
    error: PlannerLLMError | None = None,
    chars_delivered: int | None = None,
    consecutive_failures: int | None = None,
    prefill_allowed: bool = True,
    elapsed_s: float = 0.0,
    upcoming_wait_s: float = 0.0,
    request: dict[str, Any] | None = None,
    seed: int = 7,
) -> AttemptState:
    """The state as the client leaves it after attempt `attempt` (of `kind`) failed with
    `error`, having delivered `chars_delivered` chars (default: all of `text`), `elapsed_s`
    after the start; like tenacity's `make_retry_state`. The failure is recorded the way
    the client records it; `consecutive_failures` then overrides the count it left."""
    state = AttemptState(
        request=REQUEST if request is None else request,
        clock=lambda: elapsed_s,
        rng=random.Random(seed),
        started_at=0.0,
        attempt=attempt,
        kind=kind,
        text=text,
        prefill_allowed=prefill_allowed,
        upcoming_wait_s=upcoming_wait_s,
    )
    if error is not None:
        state.record_failure(error, len(text) if chars_delivered is None else chars_delivered)
    if consecutive_failures is not None:
        state.consecutive_failures = consecutive_failures
    return state
