"""The bare SDK and SDK + tenacity against the real simulator: what each does on a drop at
90%, a clean end of stream at 70% without message_stop, and a 529 before the stream."""

from __future__ import annotations

import pytest
from contender_helpers import (
    DROP_AT_90,
    EOF_AT_70,
    MODELS,
    OVERLOADED_BEFORE_STREAM,
    run_judged,
)

from planner.contenders import Outcome, get_contender
from planner.plan.model import PLANNING_MODEL
from planner.sim import Simulator


@pytest.fixture(scope="module")
def sim():
    with Simulator(speed=0, model=PLANNING_MODEL) as running:
        yield running


@pytest.mark.parametrize("model", MODELS)
def test_the_bare_sdk_raises_the_transport_error_when_the_stream_drops(sim, model) -> None:
    run = run_judged(get_contender("sdk"), sim.base_url, model, DROP_AT_90)
    assert run.outcome is Outcome.FAILED_RAISED
    assert run.result.error_type == "httpx2.RemoteProtocolError"
    assert run.result.requests == 1, "the SDK does not retry a stream that was open"
    assert 0.85 < run.delivered_ratio < 0.95
    assert run.result.tokens_estimated


@pytest.mark.parametrize("model", MODELS)
def test_the_bare_sdk_returns_a_stream_cut_at_70_percent_as_complete(sim, model) -> None:
    run = run_judged(get_contender("sdk"), sim.base_url, model, EOF_AT_70)
    assert run.result.claimed_success and run.result.error_type is None
    assert run.outcome is Outcome.SILENTLY_TRUNCATED
    assert run.expected.startswith(run.result.text)
    assert 0.65 < len(run.result.text) / len(run.expected) < 0.75


@pytest.mark.parametrize("model", MODELS)
def test_the_bare_sdk_retries_a_529_before_the_stream_and_completes(sim, model) -> None:
    run = run_judged(get_contender("sdk"), sim.base_url, model, OVERLOADED_BEFORE_STREAM)
    assert run.outcome is Outcome.COMPLETE
    assert run.result.requests == 2
    assert run.token_ratio == 1.0 and not run.result.tokens_estimated


@pytest.mark.parametrize("model", MODELS)
def test_tenacity_completes_a_drop_by_generating_and_delivering_the_answer_twice(
    sim, model
) -> None:
    run = run_judged(get_contender("sdk-tenacity"), sim.base_url, model, DROP_AT_90)
    assert run.outcome is Outcome.COMPLETE
    assert run.result.requests == 2
    assert 1.85 < run.token_ratio < 1.95
    assert run.result.redelivered and 1.85 < run.delivered_ratio < 1.95


@pytest.mark.parametrize("model", MODELS)
def test_tenacity_does_not_notice_a_stream_that_ended_without_message_stop(sim, model) -> None:
    run = run_judged(get_contender("sdk-tenacity"), sim.base_url, model, EOF_AT_70)
    assert run.outcome is Outcome.SILENTLY_TRUNCATED
    assert run.result.requests == 1


@pytest.mark.parametrize("model", MODELS)
def test_tenacity_over_the_sdk_completes_after_a_529(sim, model) -> None:
    run = run_judged(get_contender("sdk-tenacity"), sim.base_url, model, OVERLOADED_BEFORE_STREAM)
    assert run.outcome is Outcome.COMPLETE
    assert run.result.requests == 2, "the SDK's own retry answers it; tenacity sees no error"
    assert run.result.delivered_chars == len(run.expected)


def test_each_sdk_contender_records_its_configuration_and_versions(sim) -> None:
    bare = run_judged(get_contender("sdk"), sim.base_url, MODELS[0], "none").result
    assert bare.config["max_retries"] == 2 and set(bare.versions) == {"anthropic"}
    retried = run_judged(get_contender("sdk-tenacity"), sim.base_url, MODELS[0], "none").result
    assert retried.config["wait"] == "wait_random_exponential(min=1, max=60)"
    assert retried.config["stop"] == "stop_after_attempt(6)"
    assert set(retried.versions) == {"anthropic", "tenacity"}
    assert all(v != "not installed" for v in retried.versions.values())
