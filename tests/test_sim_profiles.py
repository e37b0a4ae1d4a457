"""What each named profile does to a run's first requests, as the real SDK sees it.

Every symptom follows the simulated schedule, except a stall's: that one needs the SDK's
real read timeout to trip, so the stall profile runs slowly enough that its silence is
twenty times that timeout.
"""

from __future__ import annotations

import json
import uuid

import anthropic
import httpx2
import pytest

from planner.plan.model import PLANNING_MODEL
from planner.protocol import RUN_HEADER, SPEED_HEADER
from planner.sim import Simulator
from tests.sim_helpers import client, plan_request, stream_text

SPEED = 100.0
READ_TIMEOUT_S = 0.5
STALL_SPEED = 10.0  # the stall profile's 120 s are 12 s of real silence


def symptom(sdk: anthropic.Anthropic, request: dict, run: str, speed: float = SPEED) -> str:
    headers = {RUN_HEADER: run, SPEED_HEADER: f"{speed:g}"}
    try:
        text, message = stream_text(sdk, request, extra_headers=headers)
    except httpx2.RemoteProtocolError:
        return "reset"
    except httpx2.ReadTimeout:
        return "timeout"
    except anthropic.APIStatusError as exc:
        return f"{exc.status_code} {exc.type}"
    if message.stop_reason is None:
        return "eof"
    try:
        json.loads(text)
    except json.JSONDecodeError:
        return "corrupt"
    return "ok"


@pytest.mark.parametrize(
    ("profile", "expected"),
    [
        ("none", ["ok", "ok", "ok"]),
        ("drop-at-90", ["reset", "ok", "ok"]),
        ("drop-at-50", ["reset", "ok", "ok"]),
        ("drop-twice", ["reset", "reset", "ok"]),
        ("overloaded", ["529 overloaded_error", "529 overloaded_error", "200 overloaded_error"]),
        ("rate-limited", ["429 rate_limit_error", "429 rate_limit_error", "ok"]),
        ("stall", ["timeout", "ok", "ok"]),
        ("eof", ["eof", "ok", "ok"]),
        ("sse-error", ["200 overloaded_error", "ok", "ok"]),
        ("slow", ["ok", "ok", "ok"]),
        ("corrupt", ["corrupt", "ok", "ok"]),
    ],
)
def test_profile_symptoms(profile: str, expected: list[str]) -> None:
    speeds = [STALL_SPEED if profile == "stall" else SPEED] + [SPEED] * (len(expected) - 1)
    with Simulator(faults=profile, speed=SPEED, model=PLANNING_MODEL) as sim:
        sdk = client(sim.base_url, timeout=anthropic.Timeout(10.0, read=READ_TIMEOUT_S))
        run = uuid.uuid4().hex
        assert [symptom(sdk, plan_request(8), run, speed) for speed in speeds] == expected


def test_cutoff_134s_cuts_a_120_task_plan_but_not_a_short_one() -> None:
    with Simulator(faults="cutoff-134s", model=PLANNING_MODEL) as sim:
        sdk = client(sim.base_url)
        sonnet = "claude-sonnet-4-6"  # a Sonnet's pace: ~130 tokens a second
        assert symptom(sdk, plan_request(120, sonnet), "long", speed=1000) == "reset"
        assert symptom(sdk, plan_request(30, sonnet), "short", speed=1000) == "ok"


def test_flaky_is_random_but_reproducible() -> None:
    def run_with(seed: int) -> list[str]:
        with Simulator(faults="flaky", speed=0, seed=seed, model=PLANNING_MODEL) as sim:
            sdk = client(sim.base_url)
            return [symptom(sdk, plan_request(8), "flaky", speed=0) for _ in range(16)]

    first = run_with(3)
    assert first == run_with(3)
    assert "ok" in first and len(set(first)) >= 2
