"""The fault matrix: every fault type x every strategy, each with its expected outcome;
attempt limits, deadlines, backoff, max_tokens continuation and non-retryable errors."""

from __future__ import annotations

import pytest

from planner.llm import STRATEGIES, UnknownStrategy
from planner.llm.seams import ANCHOR_MAX_CHARS
from planner.plan.model import PLANNING_MODEL
from planner.sim import Simulator
from tests.llm_helpers import FakeTime, generate, kinds, make_client, spec
from tests.sim_helpers import discovery

SONNET_45 = "claude-haiku-4-5"  # the prefill model (Sonnet 4.5 itself is retired)
SONNET_46 = "claude-sonnet-4-6"
READ_TIMEOUT_S = 0.5

MID_STREAM = {
    "reset": ({"type": "reset", "at_fraction": 0.5, "on_requests": [1]}, "connection_dropped"),
    "eof": ({"type": "eof", "at_fraction": 0.5, "on_requests": [1]}, "truncated"),
    "sse_overloaded": (
        {
            "type": "sse_error",
            "error_type": "overloaded_error",
            "at_fraction": 0.5,
            "on_requests": [1],
        },
        "sse_error",
    ),
    "sse_api_error": (
        {"type": "sse_error", "error_type": "api_error", "at_fraction": 0.5, "on_requests": [1]},
        "sse_error",
    ),
    # 50 simulated minutes of silence: 3 real seconds at speed 1000, past the read timeout.
    "stall": (
        {"type": "stall", "at_fraction": 0.5, "stall_ms": 3_000_000, "on_requests": [1]},
        "stalled",
    ),
}
BEFORE_STREAM = {
    f"http_{status}": ({"type": "http_error", "status": status, "on_requests": [1]}, kind)
    for status, kind in [
        (429, "rate_limited"),
        (529, "overloaded"),
        (500, "server_error"),
        (503, "server_error"),
    ]
}
ALL_FAULTS = {**MID_STREAM, **BEFORE_STREAM}


@pytest.fixture(scope="module")
def sim():
    with Simulator(speed=1000, model=PLANNING_MODEL) as running:
        yield running


@pytest.fixture(scope="module")
def baseline(sim) -> dict[str, str]:
    texts = {}
    for model in (SONNET_45, SONNET_46):
        result = generate(make_client(sim.base_url, "none"), discovery(model))
        assert result.complete and result.tier == "stream"
        texts[model] = result.text
    return texts


def client(sim, strategy: str, fake: FakeTime | None = None, **options):
    return make_client(sim.base_url, strategy, fake, read_timeout_s=READ_TIMEOUT_S, **options)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_fault_free_generation_is_a_plain_stream(sim, baseline, strategy) -> None:
    result = generate(client(sim, strategy), discovery(SONNET_45))
    assert (result.tier, result.complete, result.text) == ("stream", True, baseline[SONNET_45])
    assert kinds(result) == [("stream", None)]
    assert result.wasted_output_tokens == 0
    assert result.stop_reason == "end_turn"


@pytest.mark.parametrize("fault", ALL_FAULTS)
def test_none_fails_on_any_fault_and_keeps_what_arrived(sim, baseline, fault) -> None:
    item, kind = ALL_FAULTS[fault]
    result = generate(client(sim, "none"), discovery(SONNET_45), spec(item))
    assert (result.tier, result.complete, result.error_type) == ("failed", False, kind)
    assert kinds(result) == [("stream", kind)]
    assert baseline[SONNET_45].startswith(result.text)


@pytest.mark.parametrize("fault", MID_STREAM)
def test_hybrid_returns_a_partial_over_100_chars_as_incomplete(sim, baseline, fault) -> None:
    item, kind = MID_STREAM[fault]
    result = generate(client(sim, "hybrid"), discovery(SONNET_45), spec(item))
    assert (result.tier, result.complete, result.error_type) == ("partial", False, kind)
    assert len(result.text) > 100 and baseline[SONNET_45].startswith(result.text)
    assert result.text != baseline[SONNET_45]
    assert kinds(result) == [("stream", kind)]


@pytest.mark.parametrize("fault", BEFORE_STREAM)
def test_hybrid_retries_once_without_streaming_when_nothing_arrived(sim, baseline, fault) -> None:
    item, kind = BEFORE_STREAM[fault]
    fake = FakeTime()
    result = generate(client(sim, "hybrid", fake), discovery(SONNET_45), spec(item))
    assert (result.tier, result.complete, result.text) == ("nonstream", True, baseline[SONNET_45])
    assert kinds(result) == [("stream", kind), ("nonstream", None)]
    assert fake.sleeps == [], "the original retried at once"


@pytest.mark.parametrize("fault", ALL_FAULTS)
def test_restart_starts_over_and_finishes(sim, baseline, fault) -> None:
    item, kind = ALL_FAULTS[fault]
    result = generate(client(sim, "restart"), discovery(SONNET_45), spec(item))
    assert (result.tier, result.complete, result.text) == ("restart", True, baseline[SONNET_45])
    assert kinds(result) == [("stream", kind), ("stream", None)]
    assert result.attempts[1].resume_from_char == 0
    if fault in MID_STREAM:
        assert result.wasted_output_tokens > 0, "the first attempt's text was thrown away"


@pytest.mark.parametrize("model", [SONNET_45, SONNET_46])
@pytest.mark.parametrize("fault", ALL_FAULTS)
def test_resume_continues_to_the_identical_answer(sim, baseline, fault, model) -> None:
    item, kind = ALL_FAULTS[fault]
    result = generate(client(sim, "resume"), discovery(model), spec(item))
    assert (result.tier, result.complete, result.text) == ("resume", True, baseline[model])
    assert result.attempts[0].error_type == kind
    if fault in BEFORE_STREAM:
        assert kinds(result)[1:] == [("stream", None)]
    elif model == SONNET_45:
        assert kinds(result)[1:] == [("resume", None)]
        assert result.wasted_output_tokens <= 2, "only the whitespace the prefill left out"
    else:
        # The catalogue says 4.6 refuses prefill: no request is spent to learn it.
        assert kinds(result)[1:] == [("continue", None)]
    if fault in MID_STREAM:
        kept = result.attempts[0].chars
        resumed_at = result.attempts[-1].resume_from_char
        if model == SONNET_45:
            assert resumed_at == kept, "nothing delivered is taken back"
        else:
            # The last line was held back as the anchor the continuation must write again.
            assert 0 < kept - resumed_at <= ANCHOR_MAX_CHARS
            assert result.attempts[-1].seam in ("exact", "repeat")


def test_a_no_prefill_model_continues_with_user_turns_throughout(sim, baseline) -> None:
    faults = spec(
        {"type": "reset", "at_fraction": 0.3, "on_requests": [1]},
        {"type": "reset", "at_fraction": 0.3, "on_requests": [2]},
        {"type": "eof", "at_fraction": 0.5, "on_requests": [3]},
    )
    result = generate(client(sim, "resume"), discovery(SONNET_46), faults)
    assert result.complete and result.text == baseline[SONNET_46]
    assert [k for k, _ in kinds(result)] == ["stream", "continue", "continue", "continue"]


@pytest.mark.parametrize("strategy", ["restart", "resume"])
def test_attempt_limit(sim, baseline, strategy) -> None:
    always = spec({"type": "reset", "at_fraction": 0.5})
    result = generate(client(sim, strategy, max_attempts=3), discovery(SONNET_45), always)
    assert (result.tier, result.complete) == ("failed", False)
    assert baseline[SONNET_45].startswith(result.text), "what arrived is kept for the caller"
    if strategy == "restart":
        assert len(result.attempts) == 3
        assert "gave up after 3 attempt(s)" in (result.error or "")
    else:
        # Attempts that each added half the rest do not count; only the last three,
        # when the rest was too short to cut before any new text, do. An attempt's reach
        # is where its reply ended in the answer: a prefill that gave back its trailing
        # whitespace begins before the kept text's end, so a reply of only that
        # whitespace has characters but no progress.
        reach, without_progress = 0, 0
        for attempt in result.attempts:
            end = (attempt.resume_from_char or 0) + attempt.chars
            without_progress += end <= reach
            reach = max(reach, end)
        assert without_progress == 3 < len(result.attempts)
        assert "3 of them without progress" in (result.error or "")
        assert len(result.text) > 0.95 * len(baseline[SONNET_45])


@pytest.mark.parametrize("strategy", ["restart", "resume"])
def test_deadline_stops_before_a_wait_would_pass_it(sim, strategy) -> None:
    fake = FakeTime()
    always_overloaded = spec({"type": "http_error", "status": 529})
    result = generate(
        client(sim, strategy, fake, deadline_s=10, max_attempts=100),
        discovery(SONNET_45),
        always_overloaded,
    )
    assert result.tier == "failed" and result.error_type == "overloaded"
    assert 0 < sum(fake.sleeps) < 10
    assert len(result.attempts) == len(fake.sleeps) + 1 < 100
    assert "gave up" in (result.error or "")


def test_backoff_grows_without_progress_and_resets_after_it(sim, baseline) -> None:
    fake = FakeTime()
    faults = spec(
        {"type": "http_error", "status": 529, "on_requests": [1, 2, 3]},
        {"type": "reset", "at_fraction": 0.5, "on_requests": [4, 5]},
    )
    result = generate(client(sim, "resume", fake), discovery(SONNET_45), faults)
    assert result.complete and result.text == baseline[SONNET_45]
    # Three backoffs for the 529s; the two drops after progress reconnect at once.
    assert len(fake.sleeps) == 3 and len(result.attempts) == 6
    first, second, third = fake.sleeps
    assert 0.5 <= first <= 1.0 and 1.0 <= second <= 1.5 and 2.0 <= third <= 2.5


@pytest.mark.parametrize("model", [SONNET_45, SONNET_46])
def test_resume_continues_past_max_tokens_within_an_explicit_budget(sim, baseline, model) -> None:
    result = generate(
        client(sim, "resume"), {**discovery(model), "max_tokens": 150}, output_budget_tokens=5000
    )
    assert result.complete and result.text == baseline[model]
    assert result.attempts[0].stop_reason == "max_tokens"
    assert len(result.attempts) >= 3
    assert result.tier == "resume"
    assert sum(a.output_tokens for a in result.attempts) <= 5000


def test_resume_fails_clearly_when_the_output_budget_is_spent(sim) -> None:
    result = generate(client(sim, "resume"), {**discovery(), "max_tokens": 150})
    assert (result.complete, result.error_type) == (False, "budget_spent")
    assert "output budget of 450 tokens is spent" in (result.error or "")
    assert sum(a.output_tokens for a in result.attempts) <= 450
    assert all(a.max_tokens is not None and a.max_tokens <= 150 for a in result.attempts)


@pytest.mark.parametrize("strategy", ["none", "hybrid", "restart"])
def test_other_strategies_do_not_pass_max_tokens_off_as_an_answer(sim, strategy) -> None:
    result = generate(client(sim, strategy), {**discovery(SONNET_45), "max_tokens": 150})
    assert not result.complete
    assert result.error_type == "max_tokens"
    assert result.tier == ("partial" if strategy == "hybrid" else "failed")


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_non_retryable_errors_fail_at_once_under_every_strategy(sim, strategy) -> None:
    fake = FakeTime()
    bad = {**discovery(SONNET_45), "model": "claude-nope-9"}
    result = generate(client(sim, strategy, fake), bad)
    assert (result.tier, result.error_type, len(result.attempts)) == ("failed", "not_found", 1)
    assert fake.sleeps == []


def test_unknown_strategy_is_a_clear_error(sim) -> None:
    with pytest.raises(UnknownStrategy, match="none, hybrid, restart, resume"):
        client(sim, "retry-harder")
