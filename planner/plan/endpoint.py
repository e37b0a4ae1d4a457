"""Which model endpoint a generation talks to, and how it is told about faults and speed.

- `ANTHROPIC_API_KEY` set, no `ANTHROPIC_BASE_URL`: the real API. No fault injection.
- `ANTHROPIC_BASE_URL` set: that endpoint (an external `planner sim`, a proxy).
- neither: planner's embedded simulator (one per process, started lazily), serving
  planner's planning model (`planner.plan.model`).

A simulator learns a generation's fault spec, seed and speed from request headers (named
in `planner.protocol`), and counts requests per `x-planner-run` key
`RunKey(generation_id, stage)`, so a fault
`on_requests: [1]` hits the first request of each stage and the repair round continues
the stage's count.
The client's waits and timeouts are scaled by the speed, so a sped-up generation
behaves like the real-time one, only faster.
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from dataclasses import dataclass

from planner.config import Settings
from planner.errors import ConfigError
from planner.llm import ResilientClient
from planner.plan.model import PLANNING_MODEL
from planner.protocol import FAULTS_HEADER, RUN_HEADER, SEED_HEADER, SPEED_HEADER, RunKey
from planner.sim import Simulator

# Sent to a simulator that has no key of its own (it accepts any): the SDK needs one.
SIMULATOR_API_KEY = "planner-simulator"

READ_TIMEOUT_S = 60.0
MIN_READ_TIMEOUT_S = 2.0
DEADLINE_S = 1800.0
MIN_DEADLINE_S = 30.0
UNLIMITED_TIME_SCALE = 1000.0


class EndpointError(ConfigError, ValueError):
    """The configured endpoint cannot serve this request (e.g. faults on the real API)."""


@dataclass(frozen=True)
class Endpoint:
    base_url: str | None
    api_key: str
    simulated: bool
    """Requests carry planner's fault, seed and run headers."""


_embedded: Simulator | None = None
_embedded_lock = threading.Lock()


def embedded_simulator() -> Simulator:
    """The process-wide simulator serving the planning model, started once on first use."""
    global _embedded
    with _embedded_lock:
        if _embedded is None or not _embedded.running:
            _embedded = Simulator(model=PLANNING_MODEL).start()
        return _embedded


def endpoint_for(settings: Settings, *, faults: str) -> Endpoint:
    if settings.anthropic_api_key is not None and settings.anthropic_base_url is None:
        if faults != "none":
            raise EndpointError(
                "fault injection needs planner's simulator: unset ANTHROPIC_API_KEY, or point "
                "ANTHROPIC_BASE_URL at `planner sim`"
            )
        return Endpoint(None, settings.anthropic_api_key, simulated=False)
    if settings.anthropic_base_url is not None:
        return Endpoint(
            settings.anthropic_base_url,
            settings.anthropic_api_key or SIMULATOR_API_KEY,
            simulated=True,
        )
    return Endpoint(embedded_simulator().base_url, SIMULATOR_API_KEY, simulated=True)


def planner_headers(
    endpoint: Endpoint,
    *,
    generation_id: uuid.UUID,
    stage: str,
    faults: str,
    seed: int,
    speed: float,
) -> dict[str, str]:
    if not endpoint.simulated:
        return {}
    return {
        FAULTS_HEADER: faults,
        SEED_HEADER: str(seed),
        SPEED_HEADER: f"{speed:g}",
        RUN_HEADER: str(RunKey(str(generation_id), stage)),
    }


def time_scale(speed: float) -> float:
    """How much faster than real time the generation's clock runs."""
    if speed == 0 or math.isinf(speed):
        return UNLIMITED_TIME_SCALE
    return speed


def make_generation_client(endpoint: Endpoint, *, strategy: str, speed: float) -> ResilientClient:
    scale = time_scale(speed) if endpoint.simulated else 1.0

    def scaled_sleep(seconds: float) -> None:
        time.sleep(seconds / scale)

    return ResilientClient(
        api_key=endpoint.api_key,
        base_url=endpoint.base_url,
        strategy=strategy,
        read_timeout_s=max(MIN_READ_TIMEOUT_S, READ_TIMEOUT_S / scale),
        deadline_s=max(MIN_DEADLINE_S, DEADLINE_S / scale),
        sleep=scaled_sleep,
    )
