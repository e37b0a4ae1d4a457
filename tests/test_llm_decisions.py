"""Each strategy's decisions on hand-built attempt states (recoverable? next step? how long
a wait? stopped by a limit?), and the one registry the strategy names come from."""

from __future__ import annotations

import pytest

import planner.llm
from planner.errors import InputError
from planner.llm import DEFAULT_STRATEGY, REGISTRY, STRATEGIES, UnknownStrategy, build_strategy
from planner.llm.errors import (
    ConnectionDropped,
    MaxTokensReached,
    ModelNotFound,
    Overloaded,
    PrefillRefused,
    RateLimited,
    StreamStalled,
)
from planner.llm.steps import Finish, NextAttempt
from planner.llm.stitching import continuation_request, prefill_request
from planner.llm.strategies import Decision
from tests.llm_helpers import REQUEST, make_attempt_state

DROPPED = ConnectionDropped("the connection dropped mid-stream")
STALLED = StreamStalled("the stream stalled")
OVERLOADED = Overloaded("overloaded", status_code=529)
MAX_TOKENS = MaxTokensReached("the answer stopped at max_tokens")
PREFILL = PrefillRefused("the model does not accept an assistant prefill")
NOT_FOUND = ModelNotFound("not found")
GIVE_UP = Finish("give_up", "failed")
KEPT = "The plan has three phases, "


def decide(
    name: str, *, max_attempts: int = 5, deadline_s: float = 60.0, **state_fields
) -> tuple[Decision, float]:
    """The strategy's decision on a hand-built state, and the wait it set on the state."""
    state = make_attempt_state(**state_fields)
    strategy = build_strategy(name, max_attempts=max_attempts, deadline_s=deadline_s)
    return strategy.decide(state), state.upcoming_wait_s


# --- the registry --------------------------------------------------------------------


def test_the_registry_lists_the_strategies_in_order_with_a_line_each() -> None:
    assert STRATEGIES == tuple(REGISTRY) == ("none", "hybrid", "restart", "resume")
    assert DEFAULT_STRATEGY == "resume" and DEFAULT_STRATEGY in REGISTRY
    for name, entry in REGISTRY.items():
        assert entry.name == name
        assert entry.description.strip() and "\n" not in entry.description
    assert "100 chars" in REGISTRY["hybrid"].description


def test_the_registry_cannot_be_changed_from_outside() -> None:
    with pytest.raises(TypeError):
        REGISTRY["harder"] = REGISTRY["resume"]  # type: ignore[index]


def test_an_unknown_strategy_is_an_input_error_that_lists_the_choices() -> None:
    with pytest.raises(UnknownStrategy) as raised:
        build_strategy("retry-harder")
    assert isinstance(raised.value, InputError)
    assert str(raised.value) == (
        "unknown strategy 'retry-harder'; choose one of none, hybrid, restart, resume"
    )


def test_the_package_exports_the_registry_names() -> None:
    assert {"REGISTRY", "STRATEGIES", "DEFAULT_STRATEGY", "UnknownStrategy"} <= set(
        planner.llm.__all__
    )


# --- none ----------------------------------------------------------------------------


@pytest.mark.parametrize("error", [DROPPED, OVERLOADED, MAX_TOKENS, PREFILL, NOT_FOUND])
def test_none_gives_up_on_every_failure_without_calling_it_a_limit(error) -> None:
    assert decide("none", text=KEPT, error=error) == (Decision(GIVE_UP), 0.0)


# --- hybrid --------------------------------------------------------------------------


@pytest.mark.parametrize("error", [DROPPED, STALLED, MAX_TOKENS])
def test_hybrid_returns_a_partial_over_100_chars(error) -> None:
    decision, _ = decide("hybrid", text="x" * 101, error=error)
    assert decision == Decision(Finish("partial", "partial"))


def test_hybrid_makes_one_non_streaming_call_at_once_when_too_little_arrived() -> None:
    decision, wait = decide("hybrid", text="x" * 100, error=OVERLOADED)
    assert decision == Decision(NextAttempt("nonstream", REQUEST, "", "nonstream", "nonstream"))
    assert wait == 0.0, "the original retried without waiting"


def test_hybrid_does_not_retry_its_non_streaming_call() -> None:
    decision, _ = decide("hybrid", attempt=2, kind="nonstream", error=DROPPED)
    assert decision == Decision(GIVE_UP)


@pytest.mark.parametrize("error", [NOT_FOUND, PREFILL])
def test_hybrid_fails_at_once_on_what_retrying_cannot_fix(error) -> None:
    assert decide("hybrid", error=error)[0] == Decision(GIVE_UP)


def test_hybrid_stops_at_the_deadline() -> None:
    decision, _ = decide("hybrid", error=DROPPED, elapsed_s=60.0)
    assert decision == Decision(GIVE_UP, stopped=True)


# --- restart -------------------------------------------------------------------------


def test_restart_starts_over_at_once_after_a_drop_that_had_brought_text() -> None:
    decision, wait = decide("restart", text=KEPT, error=DROPPED)
    assert decision == Decision(NextAttempt("stream", REQUEST, "", "retry", "restart"))
    assert wait == 0.0


def test_restart_backs_off_longer_while_nothing_arrives() -> None:
    _, wait = decide("restart", error=OVERLOADED, chars_delivered=0, consecutive_failures=3)
    assert 2.0 <= wait <= 2.5


def test_restart_waits_as_long_as_retry_after_asks() -> None:
    limited = RateLimited("slow down", status_code=429, retry_after_s=7.0)
    assert decide("restart", error=limited)[1] == 7.0


@pytest.mark.parametrize("error", [MAX_TOKENS, PREFILL, NOT_FOUND])
def test_restart_does_not_retry_what_starting_over_cannot_fix(error) -> None:
    assert decide("restart", text=KEPT, error=error)[0] == Decision(GIVE_UP)


def test_restart_stops_at_the_attempt_limit() -> None:
    assert decide("restart", attempt=5, error=DROPPED)[0] == Decision(GIVE_UP, stopped=True)


# --- resume --------------------------------------------------------------------------


def test_resume_prefills_the_text_kept_at_once_when_text_arrived() -> None:
    decision, wait = decide("resume", text=KEPT, error=DROPPED)
    prefill = KEPT.rstrip()
    assert decision == Decision(
        NextAttempt(
            "resume",
            prefill_request(REQUEST, prefill),
            KEPT,
            "resume",
            "resume",
            resent_whitespace=KEPT[len(prefill) :],
        )
    )
    assert wait == 0.0, "a drop after progress reconnects at once"


def test_resume_backs_off_only_after_failures_that_brought_nothing() -> None:
    _, after_progress = decide("resume", text=KEPT, error=DROPPED)
    _, first = decide("resume", text=KEPT, error=DROPPED, chars_delivered=0)
    _, without = decide(
        "resume", text=KEPT, error=DROPPED, chars_delivered=0, consecutive_failures=3
    )
    assert after_progress == 0.0 and 0.5 <= first <= 1.0 and 2.0 <= without <= 2.5


def test_resume_with_nothing_kept_streams_the_request_again() -> None:
    decision, _ = decide("resume", error=OVERLOADED, chars_delivered=0)
    assert decision == Decision(NextAttempt("stream", REQUEST, "", "retry", "resume"))


def test_resume_waits_as_long_as_retry_after_asks_up_to_two_minutes() -> None:
    asked = Overloaded("overloaded", status_code=529, retry_after_s=300.0)
    assert decide("resume", error=asked, deadline_s=1e9)[1] == 120.0


def test_resume_switches_to_a_continuation_turn_when_its_prefill_is_refused() -> None:
    decision, wait = decide("resume", attempt=2, kind="resume", text=KEPT, error=PREFILL)
    assert decision == Decision(
        NextAttempt(
            "continue",
            continuation_request(REQUEST, KEPT),
            KEPT,
            "continue",
            "resume",
            join_seam=True,
        )
    )
    assert wait == 0.0, "a refusal is no server trouble to wait out"


def test_resume_after_a_refusal_keeps_continuing_with_a_user_turn() -> None:
    decision, _ = decide(
        "resume", attempt=3, kind="continue", text=KEPT, error=DROPPED, prefill_allowed=False
    )
    assert isinstance(decision.step, NextAttempt) and decision.step.kind == "continue"


def test_resume_does_not_retry_a_prefill_the_caller_sent() -> None:
    assert decide("resume", kind="stream", error=PREFILL)[0] == Decision(GIVE_UP)


def test_resume_continues_past_max_tokens_without_waiting() -> None:
    decision, wait = decide("resume", text=KEPT, error=MAX_TOKENS)
    assert isinstance(decision.step, NextAttempt) and decision.step.kind == "resume"
    assert wait == 0.0


def test_resume_fails_at_once_on_a_non_retryable_error() -> None:
    assert decide("resume", text=KEPT, error=NOT_FOUND) == (Decision(GIVE_UP), 0.0)


def test_resume_stops_after_max_attempts_without_progress() -> None:
    state = make_attempt_state(attempt=7, text=KEPT, error=DROPPED, chars_delivered=0)
    strategy = build_strategy("resume", max_attempts=5)
    state.attempts_without_progress = 4
    assert strategy.decide(state).stopped is False
    state.attempts_without_progress = 5
    assert strategy.decide(state) == Decision(GIVE_UP, stopped=True)


def test_resume_goes_on_after_many_attempts_that_each_brought_text() -> None:
    decision, _ = decide("resume", attempt=12, text=KEPT, error=DROPPED)
    assert decision.stopped is False and isinstance(decision.step, NextAttempt)


def test_resume_stops_when_the_output_budget_is_spent() -> None:
    state = make_attempt_state(text=KEPT, error=MAX_TOKENS)
    state.output_budget_tokens, state.output_tokens_spent = 300, 300
    assert build_strategy("resume").decide(state) == Decision(GIVE_UP, stopped=True)


def test_resume_stops_when_the_wait_would_pass_the_deadline() -> None:
    # 59 s in, a wait of at least 2 s (third failure without progress) passes 60 s.
    decision, wait = decide(
        "resume", error=OVERLOADED, chars_delivered=0, consecutive_failures=3, elapsed_s=59.0
    )
    assert decision == Decision(GIVE_UP, stopped=True) and wait >= 2.0
    assert decide("resume", error=OVERLOADED, elapsed_s=58.0)[0].stopped is False
