"""The oracle against the real simulator: under every fault it completes with the fault-free
text, spends one request per failure, hands the consumer every character once and generates
nothing twice beyond what the model itself re-sends at a seam; and the simulator header it
relies on says where each reply starts."""

from __future__ import annotations

import json

import httpx2
import pytest
from contender_helpers import (
    DROP_AT_90,
    EOF_AT_70,
    MODELS,
    NO_PREFILL_MODEL,
    OVERLOADED_BEFORE_STREAM,
    PREFILL_MODEL,
    endpoint,
    fault_free,
    request_for,
    run_judged,
)
from sim_helpers import client, plain_request

from planner.contenders import Outcome, get_contender
from planner.contenders.oracle import CONTINUE_PROMPT, OracleError, _reply_start
from planner.plan.model import PLANNING_MODEL
from planner.protocol import ANSWER_FROM_HEADER
from planner.sim import Simulator
from planner.sim.conversation import MAX_OVERLAP_CHARS


@pytest.fixture(scope="module")
def sim():
    with Simulator(speed=0, model=PLANNING_MODEL) as running:
        yield running


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize(
    "faults",
    [DROP_AT_90, EOF_AT_70, OVERLOADED_BEFORE_STREAM],
    ids=["drop-at-90", "eof-at-70", "529-before-stream"],
)
def test_the_oracle_completes_with_one_more_request_and_nothing_delivered_twice(
    sim, model, faults
) -> None:
    run = run_judged(get_contender("oracle"), sim.base_url, model, faults)
    assert run.outcome is Outcome.COMPLETE
    assert run.result.requests == 2
    assert run.result.delivered_chars == len(run.expected)


def test_on_a_prefill_model_the_oracle_regenerates_only_the_whitespace_it_must_cut(sim) -> None:
    run = run_judged(get_contender("oracle"), sim.base_url, PREFILL_MODEL, DROP_AT_90)
    assert run.result.output_tokens - run.final_tokens <= 1
    assert round(run.token_ratio, 3) <= 1.001


def test_on_a_no_prefill_model_the_oracle_regenerates_only_the_overlap_the_model_repeats(
    sim,
) -> None:
    run = run_judged(get_contender("oracle"), sim.base_url, NO_PREFILL_MODEL, DROP_AT_90)
    assert 0 < run.result.output_tokens - run.final_tokens <= MAX_OVERLAP_CHARS
    assert run.token_ratio < 1.02


@pytest.mark.parametrize("model", MODELS)
def test_the_oracle_finishes_every_generation_under_flaky(sim, model) -> None:
    for seed in range(6):
        run = run_judged(get_contender("oracle"), sim.base_url, model, "flaky", seed)
        assert run.outcome is Outcome.COMPLETE, (seed, run.result.error_message)
        assert run.result.delivered_chars == len(run.expected)


def test_the_oracle_continues_after_several_drops_in_a_row(sim) -> None:
    drops = json.dumps(
        [{"type": "reset", "at_fraction": 0.3, "on_requests": [n]} for n in (1, 2, 3)]
    )
    run = run_judged(get_contender("oracle"), sim.base_url, NO_PREFILL_MODEL, drops)
    assert run.outcome is Outcome.COMPLETE
    assert run.result.requests == 4


def _reply(sdk, request, base_url: str) -> tuple[int, str]:
    with sdk.messages.stream(**request, extra_headers=endpoint(base_url).headers) as stream:
        return int(stream.response.headers[ANSWER_FROM_HEADER]), stream.get_final_text()


def test_the_simulator_says_where_each_reply_starts_in_its_full_answer(sim) -> None:
    sdk = client(sim.base_url)
    request = request_for(PREFILL_MODEL)
    start, full = _reply(sdk, request, sim.base_url)
    assert start == 0
    kept = full[:1000].rstrip()
    prefill = {
        **request,
        "messages": [*request["messages"], {"role": "assistant", "content": kept}],
    }
    assert _reply(sdk, prefill, sim.base_url) == (len(kept), full[len(kept) :])

    request = request_for(NO_PREFILL_MODEL)
    full = fault_free(sim.base_url, NO_PREFILL_MODEL).text
    kept = full[:1000]
    turn = {
        **request,
        "messages": [
            *request["messages"],
            {"role": "assistant", "content": kept},
            {"role": "user", "content": CONTINUE_PROMPT},
        ],
    }
    start, text = _reply(sdk, turn, sim.base_url)
    assert len(kept) - MAX_OVERLAP_CHARS <= start < len(kept)
    assert full[start:] == text

    whole = sdk.messages.with_raw_response.create(
        **plain_request(), extra_headers=endpoint(sim.base_url).headers
    )
    assert whole.headers[ANSWER_FROM_HEADER] == "0"


def test_the_oracle_refuses_an_endpoint_that_does_not_say_where_replies_start() -> None:
    with pytest.raises(OracleError, match=ANSWER_FROM_HEADER):
        _reply_start(httpx2.Response(200))
