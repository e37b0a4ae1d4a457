"""The strongest check: under any mid-stream faults, `resume` yields byte-identical text to
the fault-free run of the same request, with and without prefill; and a stored checkpoint
lets a fresh client finish a generation another process started."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.llm import Checkpoint
from planner.plan.model import PLANNING_MODEL
from planner.protocol import RUN_HEADER, SEED_HEADER
from planner.sim import Simulator
from tests.llm_helpers import FakeTime, generate, make_client
from tests.sim_helpers import plan_request

SONNET_45 = "claude-sonnet-4-5"  # accepts an assistant prefill
SONNET_46 = "claude-sonnet-4-6"  # refuses it: continuation by a user turn, overlap removed
TASKS = 8


@pytest.fixture(scope="module")
def sim():
    with Simulator(speed=0, model=PLANNING_MODEL) as running:
        yield running


@pytest.fixture(scope="module")
def baseline(sim) -> dict[str, str]:
    texts = {}
    for model in (SONNET_45, SONNET_46):
        result = generate(make_client(sim.base_url, "none"), plan_request(TASKS, model))
        assert result.complete
        json.loads(result.text)
        texts[model] = result.text
    return texts


mid_stream_fault = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["reset", "eof", "sse_error"]),
        "at_fraction": st.floats(0.0, 1.0),
    }
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    model=st.sampled_from([SONNET_45, SONNET_46]),
    faults=st.lists(mid_stream_fault, min_size=1, max_size=5),
)
def test_resume_is_byte_identical_under_any_mid_stream_faults(sim, baseline, model, faults) -> None:
    # One fault on each of the first requests: every attempt may break anywhere.
    placed = [{**fault, "on_requests": [n]} for n, fault in enumerate(faults, start=1)]
    chunks = []
    result = generate(
        make_client(sim.base_url, "resume", max_attempts=len(placed) + 3),
        plan_request(TASKS, model),
        json.dumps(placed),
        on_chunk=chunks.append,
    )
    assert result.complete, result.error
    assert result.text == baseline[model]
    assert result.tier in ("resume", "stream")
    # The chunk timeline, laid out at its offsets, rebuilds exactly the final text.
    rebuilt = ""
    for chunk in chunks:
        assert chunk.char_offset <= len(rebuilt) and chunk.chars == len(chunk.text)
        rebuilt = rebuilt[: chunk.char_offset] + chunk.text
    assert rebuilt == baseline[model]


@pytest.mark.parametrize("model", [SONNET_45, SONNET_46])
def test_a_fresh_client_finishes_from_a_stored_checkpoint(sim, baseline, model) -> None:
    checkpoints: list[Checkpoint] = []
    crashed = generate(
        make_client(sim.base_url, "none", checkpoint_every_chars=500),
        plan_request(TASKS, model),
        json.dumps([{"type": "reset", "at_fraction": 0.6, "on_requests": [1]}]),
        on_checkpoint=checkpoints.append,
    )
    assert not crashed.complete
    stored = checkpoints[-1]
    assert stored.text == crashed.text and stored.offset == len(crashed.text)

    fake = FakeTime()
    finished = generate(
        make_client(sim.base_url, "resume", fake),
        plan_request(TASKS, model),
        resume_from=stored.text,
    )
    assert finished.complete and finished.text == baseline[model]
    assert finished.tier == "resume"
    first = finished.attempts[0]
    assert first.kind == ("resume" if model == SONNET_45 else "continue")
    assert first.resume_from_char == len(stored.text)
    assert sum(a.chars for a in finished.attempts) == len(baseline[model]) - len(stored.text)


def test_resume_from_an_older_checkpoint_also_matches(sim, baseline) -> None:
    """A checkpoint may lag behind what arrived; continuing from it is still exact."""
    model = SONNET_45
    early = baseline[model][:1234]
    result = generate(
        make_client(sim.base_url, "resume"), plan_request(TASKS, model), resume_from=early
    )
    assert result.complete and result.text == baseline[model]


def test_resume_from_blank_text_is_a_fresh_stream(sim, baseline) -> None:
    result = generate(make_client(sim.base_url, "resume"), plan_request(TASKS), resume_from="  \n")
    assert result.complete and result.text == baseline[SONNET_45]
    assert result.attempts[0].kind == "stream"


@pytest.mark.parametrize("model", [SONNET_45, SONNET_46])
def test_every_generation_under_flaky_finishes_identically(sim, model) -> None:
    """The `flaky` profile (529s with retry-after, drops, overloaded SSE errors, each by
    chance on every request): twelve different answers, all finished exactly."""
    client = make_client(sim.base_url, "resume")
    recovered = 0
    for seed in range(12):
        # Its own run key: requests are numbered per key and the draws depend on the
        # number, so with the shared "" key the faults met would depend on which other
        # tests of this module ran first on this xdist worker (once: 10 attempts spent).
        seed_header = {SEED_HEADER: str(seed), RUN_HEADER: f"flaky-{model}-{seed}"}
        clean = generate(client, plan_request(TASKS, model), extra_headers=seed_header)
        flaky = generate(client, plan_request(TASKS, model), "flaky", extra_headers=seed_header)
        assert flaky.complete, flaky.error
        assert flaky.text == clean.text
        recovered += flaky.tier == "resume"
    assert recovered >= 3, "the profile really did break some generations"
