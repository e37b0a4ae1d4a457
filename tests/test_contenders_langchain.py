"""LangChain's ChatAnthropic(...).with_retry().stream() against the real simulator: with_retry
never retries a stream, the SDK underneath retries a 529 before it opens, and a stream cut
without message_stop comes back as if complete."""

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
def test_with_retry_does_not_retry_a_stream_that_drops(sim, model) -> None:
    run = run_judged(get_contender("langchain"), sim.base_url, model, DROP_AT_90)
    assert run.outcome is Outcome.FAILED_RAISED
    assert run.result.error_type == "httpx2.RemoteProtocolError"
    assert run.result.requests == 1
    assert 0.85 < run.delivered_ratio < 0.95


@pytest.mark.parametrize("model", MODELS)
def test_langchain_returns_a_stream_cut_at_70_percent_as_complete(sim, model) -> None:
    run = run_judged(get_contender("langchain"), sim.base_url, model, EOF_AT_70)
    assert run.result.claimed_success
    assert run.outcome is Outcome.SILENTLY_TRUNCATED
    assert 0.65 < len(run.result.text) / len(run.expected) < 0.75
    assert run.result.tokens_estimated, "no usage arrives without message_delta"


@pytest.mark.parametrize("model", MODELS)
def test_the_sdk_under_langchain_retries_a_529_before_the_stream(sim, model) -> None:
    run = run_judged(get_contender("langchain"), sim.base_url, model, OVERLOADED_BEFORE_STREAM)
    assert run.outcome is Outcome.COMPLETE
    assert run.result.requests == 2
    assert run.token_ratio == 1.0 and not run.result.tokens_estimated


def test_langchain_records_its_documented_configuration(sim) -> None:
    result = run_judged(get_contender("langchain"), sim.base_url, MODELS[0], "none").result
    assert result.config["max_retries"] == 2
    assert result.config["with_retry"]["stop_after_attempt"] == 3
    assert {"langchain-anthropic", "langchain-core", "anthropic"} == set(result.versions)
    assert result.requests == 1
