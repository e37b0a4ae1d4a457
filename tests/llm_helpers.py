"""Shared helpers for the resilient client tests: a fake clock, clients on a real simulator."""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass, field
from typing import Any

from planner.llm import GenerationResult, ResilientClient


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
    headers = {"x-planner-faults": faults, "x-planner-run": uuid.uuid4().hex}
    headers.update(kwargs.pop("extra_headers", {}))
    return client.generate(request, extra_headers=headers, **kwargs)


def kinds(result: GenerationResult) -> list[tuple[str, str | None]]:
    return [(attempt.kind, attempt.error_type) for attempt in result.attempts]
