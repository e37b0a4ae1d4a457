"""LiteLLM against the real simulator: completion(num_retries=2) raises MidStreamFallbackError
once a stream that delivered text breaks (or ends without its finish reason); the Router with
mid-stream continuation continues by prefill on a model that accepts it and refuses on one
that does not."""

from __future__ import annotations

import json
import logging

import pytest
from contender_helpers import (
    DROP_AT_90,
    EOF_AT_70,
    MODELS,
    NO_PREFILL_MODEL,
    OVERLOADED_BEFORE_STREAM,
    PREFILL_MODEL,
    run_judged,
)

from planner.contenders import Outcome, get_contender
from planner.plan.model import PLANNING_MODEL
from planner.sim import Simulator

# LiteLLM's own cost bookkeeping reads pydantic fields the deprecated way on every stream.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:litellm")


@pytest.fixture(scope="module")
def sim():
    with Simulator(speed=0, model=PLANNING_MODEL) as running:
        yield running


@pytest.fixture(autouse=True)
def quiet_router_log(caplog: pytest.LogCaptureFixture) -> None:
    """The Router logs every declined fallback at ERROR; the tests read results, not logs."""
    caplog.set_level(logging.CRITICAL, logger="LiteLLM Router")


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("faults", [DROP_AT_90, EOF_AT_70], ids=["drop-at-90", "eof-at-70"])
def test_completion_raises_mid_stream_fallback_error_when_a_stream_breaks(
    sim, model, faults
) -> None:
    run = run_judged(get_contender("litellm"), sim.base_url, model, faults)
    assert run.outcome is Outcome.FAILED_RAISED
    assert run.result.error_type == "litellm.MidStreamFallbackError"
    assert run.result.requests == 1, "num_retries covers requests, not an open stream"


@pytest.mark.parametrize("model", MODELS)
def test_completion_retries_a_529_before_the_stream(sim, model) -> None:
    run = run_judged(get_contender("litellm"), sim.base_url, model, OVERLOADED_BEFORE_STREAM)
    assert run.outcome is Outcome.COMPLETE
    assert run.result.requests == 2
    assert run.token_ratio == 1.0


@pytest.mark.parametrize("faults", [DROP_AT_90, EOF_AT_70], ids=["drop-at-90", "eof-at-70"])
def test_the_router_continues_a_broken_stream_by_prefill_on_a_prefill_model(sim, faults) -> None:
    run = run_judged(get_contender("litellm-router"), sim.base_url, PREFILL_MODEL, faults)
    assert run.outcome is Outcome.COMPLETE
    assert run.result.requests == 2
    assert run.delivered_ratio == 1.0
    assert run.token_ratio < 1.001, "the continuation regenerates nothing"


@pytest.mark.parametrize("faults", [DROP_AT_90, EOF_AT_70], ids=["drop-at-90", "eof-at-70"])
def test_the_router_refuses_to_continue_on_a_model_without_prefill(sim, faults) -> None:
    run = run_judged(get_contender("litellm-router"), sim.base_url, NO_PREFILL_MODEL, faults)
    assert run.outcome is Outcome.FAILED_RAISED
    assert run.result.error_type == "litellm.APIConnectionError", "the original error surfaces"
    assert run.result.requests == 1


@pytest.mark.parametrize("model", MODELS)
def test_the_router_retries_a_529_before_the_stream(sim, model) -> None:
    run = run_judged(get_contender("litellm-router"), sim.base_url, model, OVERLOADED_BEFORE_STREAM)
    assert run.outcome is Outcome.COMPLETE
    assert run.result.requests == 2


def test_the_router_sends_the_runs_headers_with_its_continuation(sim) -> None:
    """A second drop on the continuation itself: the run key, seed and faults went with it,
    so the simulator counted it as the run's request 2 and broke it too."""
    twice = json.dumps([{"type": "reset", "at_fraction": 0.9, "on_requests": [1, 2]}])
    run = run_judged(get_contender("litellm-router"), sim.base_url, PREFILL_MODEL, twice)
    assert run.outcome is Outcome.FAILED_RAISED
    assert run.result.requests == 2


def test_litellm_contenders_record_their_configuration_and_offline_settings(sim) -> None:
    for name in ("litellm", "litellm-router"):
        result = run_judged(get_contender(name), sim.base_url, PREFILL_MODEL, "none").result
        assert result.config["num_retries"] == 2
        assert result.config["LITELLM_OFFLINE_MODE"] == "true"
        assert set(result.versions) == {"litellm"}
    assert result.config["enable_mid_stream_fallback_continuation"] is True
