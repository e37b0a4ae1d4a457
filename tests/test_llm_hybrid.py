"""`hybrid` reproduces the original system's outcomes on a long MasterPlan, so experiments
can compare `resume` against it: the partial returned on a late drop (now marked
incomplete), the non-streaming retry on an early drop, which the SDK's long-request guard
refuses for a 32,000-token MasterPlan (as it did for the original system, on the SDK's
default timeout) and which dies under a proxy that cuts connections at 134 s when the
request is small enough to be sent."""

from __future__ import annotations

import pytest

from planner.plan.model import PLANNING_MODEL
from planner.sim import Simulator
from tests.llm_helpers import FakeTime, generate, kinds, make_client, spec
from tests.sim_helpers import plan_request

LONG_PLAN_TASKS = 120  # ~18k output tokens: about 142 s at Sonnet's pace, past 134 s
EARLY_DROP = {"type": "reset", "after_bytes": 600, "on_requests": [1]}
CUTOFF = {"type": "cutoff", "after_s": 134}


@pytest.fixture(scope="module")
def sim():
    with Simulator(speed=0, model=PLANNING_MODEL) as running:
        yield running


@pytest.fixture(scope="module")
def long_plan(sim) -> str:
    result = generate(make_client(sim.base_url, "none"), plan_request(LONG_PLAN_TASKS))
    assert result.complete and result.usage.output_tokens > 17_000
    return result.text


def test_a_drop_at_90_percent_returns_the_partial_plan_as_incomplete(sim, long_plan) -> None:
    result = generate(
        make_client(sim.base_url, "hybrid"), plan_request(LONG_PLAN_TASKS), "drop-at-90"
    )
    assert (result.tier, result.complete) == ("partial", False)
    assert long_plan.startswith(result.text)
    assert 0.85 < len(result.text) / len(long_plan) < 0.95
    assert result.error_type == "connection_dropped"
    assert kinds(result) == [("stream", "connection_dropped")]


def test_an_early_drop_gets_a_non_streaming_retry_the_sdk_refuses_for_a_long_answer(
    sim,
) -> None:
    fake = FakeTime()
    result = generate(
        make_client(sim.base_url, "hybrid", fake), plan_request(LONG_PLAN_TASKS), spec(EARLY_DROP)
    )
    assert result.attempts[0].chars <= 100
    assert (result.tier, result.complete) == ("failed", False)
    assert kinds(result) == [("stream", "connection_dropped"), ("nonstream", "streaming_required")]
    assert "Streaming is required" in (result.error or "")
    assert result.attempts[1].http_status is None, "refused before anything was sent"
    assert fake.sleeps == []


def small_enough_to_send(request: dict) -> dict:
    """max_tokens under the SDK's ten-minute estimate (128,000 tokens an hour)."""
    return {**request, "max_tokens": 20_000}


def test_an_early_drop_gets_one_non_streaming_retry_when_the_sdk_lets_it(sim, long_plan) -> None:
    result = generate(
        make_client(sim.base_url, "hybrid"),
        small_enough_to_send(plan_request(LONG_PLAN_TASKS)),
        spec(EARLY_DROP),
    )
    assert (result.tier, result.complete, result.text) == ("nonstream", True, long_plan)
    assert kinds(result) == [("stream", "connection_dropped"), ("nonstream", None)]
    assert result.wasted_output_tokens > 0


def test_the_non_streaming_retry_dies_under_a_134s_cutoff(sim) -> None:
    result = generate(
        make_client(sim.base_url, "hybrid"),
        small_enough_to_send(plan_request(LONG_PLAN_TASKS)),
        spec(EARLY_DROP, CUTOFF),
    )
    assert (result.tier, result.complete) == ("failed", False)
    assert kinds(result) == [("stream", "connection_dropped"), ("nonstream", "connection_dropped")]
    assert len(result.attempts) == 2, "the original had no further fallback"


def test_resume_finishes_the_same_long_plan_under_the_same_faults(sim, long_plan) -> None:
    result = generate(
        make_client(sim.base_url, "resume"), plan_request(LONG_PLAN_TASKS), spec(EARLY_DROP, CUTOFF)
    )
    assert (result.tier, result.complete, result.text) == ("resume", True, long_plan)
    assert [kind for kind, _ in kinds(result)] == ["stream", "resume", "resume"]
    assert result.attempts[1].error_type == "connection_dropped", "cut at 134 s, then resumed"


def test_a_streamed_plan_cut_at_134s_is_a_partial_for_hybrid(sim, long_plan) -> None:
    result = generate(
        make_client(sim.base_url, "hybrid"), plan_request(LONG_PLAN_TASKS), "cutoff-134s"
    )
    assert (result.tier, result.complete) == ("partial", False)
    assert len(result.text) < len(long_plan) and long_plan.startswith(result.text)
