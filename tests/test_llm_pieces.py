"""Every strategy piece and every operator, on bare attempt states (tenacity's way: a
hand-built state, one call, one answer), and how the state itself records failures."""

from __future__ import annotations

import random

import pytest

from planner.llm.errors import (
    ConnectionDropped,
    MaxTokensReached,
    ModelNotFound,
    Overloaded,
    PrefillRefused,
    RateLimited,
    StreamInterrupted,
    TransientError,
)
from planner.llm.retry import (
    retry_all,
    retry_any,
    retry_if_attempt_kind,
    retry_if_error,
    retry_never,
)
from planner.llm.steps import (
    Finish,
    NextAttempt,
    continue_from_text,
    give_up,
    partial_or_nonstream,
    start_over,
)
from planner.llm.stitching import continuation_request, prefill_request
from planner.llm.stop import (
    stop_after_attempt,
    stop_all,
    stop_any,
    stop_before_deadline,
    stop_never,
)
from planner.llm.wait import (
    wait_combine,
    wait_exponential_jitter,
    wait_none,
    wait_retry_after_or,
)
from tests.llm_helpers import REQUEST, make_attempt_state

DROPPED = ConnectionDropped("the connection dropped mid-stream")
MAX_TOKENS = MaxTokensReached("the answer stopped at max_tokens")
PREFILL = PrefillRefused("the model does not accept an assistant prefill")
NOT_FOUND = ModelNotFound("not found")


def overloaded(retry_after_s: float | None = None) -> Overloaded:
    return Overloaded("overloaded", status_code=529, retry_after_s=retry_after_s)


# --- the state -----------------------------------------------------------------------


def test_a_failure_that_delivered_text_restarts_the_count_of_failures_without_progress() -> None:
    state = make_attempt_state(error=DROPPED, consecutive_failures=4)
    state.record_failure(DROPPED, chars_delivered=120)
    assert (state.consecutive_failures, state.failures, state.last_attempt_chars) == (0, 2, 120)


def test_only_failures_without_progress_count_towards_the_attempt_limit() -> None:
    state = make_attempt_state(error=DROPPED, chars_delivered=0)
    for _ in range(10):
        state.record_failure(DROPPED, chars_delivered=50)
    state.record_failure(overloaded(), chars_delivered=0)
    assert (state.failures, state.attempts_without_progress) == (12, 2)


def test_a_failure_that_delivered_nothing_adds_to_the_count() -> None:
    state = make_attempt_state(error=overloaded(), chars_delivered=0)
    state.record_failure(overloaded(), chars_delivered=0)
    assert state.consecutive_failures == 2 and state.last_error is not None


def test_a_refused_prefill_is_remembered_for_the_rest_of_the_generation() -> None:
    state = make_attempt_state(kind="resume", text="abc", error=PREFILL, chars_delivered=0)
    assert state.prefill_allowed is False
    state.record_failure(DROPPED, chars_delivered=10)
    assert state.prefill_allowed is False


def test_elapsed_time_comes_from_the_injected_clock() -> None:
    state = make_attempt_state(elapsed_s=12.5)
    assert (state.elapsed_s, state.elapsed_ms) == (12.5, 12_500)


# --- is the failure recoverable ------------------------------------------------------


@pytest.mark.parametrize("error", [DROPPED, overloaded(), MAX_TOKENS, PREFILL, NOT_FOUND])
def test_retry_never_recovers_from_nothing(error) -> None:
    assert retry_never()(make_attempt_state(error=error)) is False


def test_retry_if_error_matches_the_types_and_their_subclasses_only() -> None:
    transient = retry_if_error(TransientError)
    assert transient(make_attempt_state(error=DROPPED))
    assert transient(make_attempt_state(error=overloaded()))
    assert not transient(make_attempt_state(error=MAX_TOKENS))
    assert not transient(make_attempt_state(error=PREFILL))
    assert not transient(make_attempt_state()), "no failure is nothing to recover from"
    assert retry_if_error(StreamInterrupted, MaxTokensReached)(make_attempt_state(error=MAX_TOKENS))


def test_retry_if_attempt_kind_looks_at_the_attempt_that_failed() -> None:
    streamed = retry_if_attempt_kind("stream", "resume")
    assert streamed(make_attempt_state(kind="resume"))
    assert not streamed(make_attempt_state(kind="nonstream"))


def test_or_recovers_when_either_condition_holds() -> None:
    either = retry_if_error(TransientError) | retry_if_error(MaxTokensReached)
    assert isinstance(either, retry_any)
    assert either(make_attempt_state(error=DROPPED))
    assert either(make_attempt_state(error=MAX_TOKENS))
    assert not either(make_attempt_state(error=PREFILL))


def test_and_recovers_only_when_both_conditions_hold() -> None:
    both = retry_if_error(PrefillRefused) & retry_if_attempt_kind("resume")
    assert isinstance(both, retry_all)
    assert both(make_attempt_state(kind="resume", error=PREFILL))
    assert not both(make_attempt_state(kind="stream", error=PREFILL))
    assert not both(make_attempt_state(kind="resume", error=DROPPED))


def test_conditions_nest_as_written() -> None:
    rule = retry_if_error(TransientError) | (
        retry_if_error(PrefillRefused) & retry_if_attempt_kind("resume")
    )
    assert rule(make_attempt_state(kind="continue", error=DROPPED))
    assert rule(make_attempt_state(kind="resume", error=PREFILL))
    assert not rule(make_attempt_state(kind="stream", error=PREFILL))


# --- when to stop --------------------------------------------------------------------


def test_stop_never_goes_on_forever() -> None:
    assert stop_never()(make_attempt_state(attempt=10_000, elapsed_s=1e9)) is False


def test_stop_after_attempt_stops_once_that_many_attempts_ran() -> None:
    limit = stop_after_attempt(3)
    assert not limit(make_attempt_state(attempt=2))
    assert limit(make_attempt_state(attempt=3))


def test_stop_before_deadline_counts_the_wait_that_would_come_first() -> None:
    deadline = stop_before_deadline(10.0)
    assert not deadline(make_attempt_state(elapsed_s=9.0, upcoming_wait_s=0.5))
    assert deadline(make_attempt_state(elapsed_s=9.0, upcoming_wait_s=1.0))
    assert deadline(make_attempt_state(elapsed_s=10.0))


def test_or_stops_at_the_first_limit_reached() -> None:
    limits = stop_after_attempt(3) | stop_before_deadline(10.0)
    assert isinstance(limits, stop_any)
    assert limits(make_attempt_state(attempt=3, elapsed_s=1.0))
    assert limits(make_attempt_state(attempt=1, elapsed_s=11.0))
    assert not limits(make_attempt_state(attempt=2, elapsed_s=1.0))


def test_and_stops_only_when_every_limit_is_reached() -> None:
    limits = stop_after_attempt(3) & stop_before_deadline(10.0)
    assert isinstance(limits, stop_all)
    assert not limits(make_attempt_state(attempt=3, elapsed_s=1.0))
    assert not limits(make_attempt_state(attempt=1, elapsed_s=11.0))
    assert limits(make_attempt_state(attempt=3, elapsed_s=11.0))


# --- how long to wait ----------------------------------------------------------------


def test_wait_none_waits_nothing() -> None:
    assert wait_none()(make_attempt_state(error=overloaded())) == 0.0


def test_the_backoff_doubles_with_each_failure_without_progress_up_to_its_cap() -> None:
    backoff = wait_exponential_jitter(initial=0.5, maximum=3.0, jitter=0.0)
    waits = [
        backoff(make_attempt_state(error=overloaded(), consecutive_failures=count))
        for count in (1, 2, 3, 4, 40)
    ]
    assert waits == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_a_drop_after_progress_reconnects_at_once_and_backoff_starts_over_after_it() -> None:
    backoff = wait_exponential_jitter(initial=0.5, jitter=0.0)
    state = make_attempt_state(error=overloaded(), chars_delivered=0, consecutive_failures=3)
    assert backoff(state) == 2.0
    state.record_failure(DROPPED, chars_delivered=80)
    assert backoff(state) == 0.0
    state.record_failure(DROPPED, chars_delivered=0)
    assert backoff(state) == 0.5


def test_the_jitter_comes_from_the_states_random_generator() -> None:
    backoff = wait_exponential_jitter(initial=0.5, jitter=0.5)
    wait = backoff(make_attempt_state(error=DROPPED, seed=3))
    assert wait == 0.5 + random.Random(3).uniform(0, 0.5)
    assert wait == backoff(make_attempt_state(error=DROPPED, seed=3)), "same seed, same wait"


@pytest.mark.parametrize("error", [MAX_TOKENS, PREFILL])
def test_the_backoff_does_not_wait_for_what_no_server_trouble_caused(error) -> None:
    assert wait_exponential_jitter()(make_attempt_state(error=error)) == 0.0


def test_retry_after_is_waited_for_exactly_up_to_a_maximum() -> None:
    honoured = wait_retry_after_or(wait_exponential_jitter(), maximum=120.0)
    limited = RateLimited("slow down", status_code=429, retry_after_s=5.0)
    assert honoured(make_attempt_state(error=limited)) == 5.0
    assert honoured(make_attempt_state(error=overloaded(retry_after_s=600.0))) == 120.0


def test_without_retry_after_the_fallback_decides() -> None:
    honoured = wait_retry_after_or(wait_exponential_jitter(initial=2.0, jitter=0.0))
    assert honoured(make_attempt_state(error=overloaded())) == 2.0
    assert honoured(make_attempt_state(error=DROPPED)) == 2.0


def test_waits_add_up_with_plus_and_with_sum() -> None:
    retry_after = wait_retry_after_or(wait_none())
    backoff = wait_exponential_jitter(initial=1.0, jitter=0.0)
    state = make_attempt_state(error=overloaded(retry_after_s=2.0))
    combined = retry_after + backoff
    assert isinstance(combined, wait_combine)
    assert combined(state) == 3.0
    assert sum([retry_after, backoff, wait_none()])(state) == 3.0
    with pytest.raises(TypeError):
        1 + backoff  # noqa: B018 - a number plus a wait means nothing


# --- how to go on --------------------------------------------------------------------


def test_give_up_fails_the_generation() -> None:
    assert give_up()(make_attempt_state(text="abc", error=DROPPED)) == Finish("give_up", "failed")


def test_start_over_sends_the_original_request_and_keeps_nothing() -> None:
    step = start_over()(make_attempt_state(text="half an answer", error=DROPPED))
    assert step == NextAttempt("stream", REQUEST, "", "retry", "restart")


def test_continuing_without_text_is_a_plain_stream_again() -> None:
    step = continue_from_text()(make_attempt_state(text="  \n", error=overloaded()))
    assert step == NextAttempt("stream", REQUEST, "", "retry", "resume")


def test_continuing_prefills_the_kept_text_without_its_trailing_blanks_but_keeps_them() -> None:
    step = continue_from_text()(make_attempt_state(text='{"phases": [ \n', error=DROPPED))
    assert step == NextAttempt(
        "resume",
        prefill_request(REQUEST, '{"phases": ['),
        '{"phases": [ \n',
        "resume",
        "resume",
        resent_whitespace=" \n",
    )
    [block] = step.request["messages"][-1]["content"]
    assert block == {"type": "text", "text": '{"phases": [', "cache_control": {"type": "ephemeral"}}


def test_continuing_after_a_refused_prefill_asks_in_a_user_turn_and_joins_the_seam() -> None:
    state = make_attempt_state(kind="resume", text="abc def ", error=PREFILL, chars_delivered=0)
    step = continue_from_text()(state)
    assert step == NextAttempt(
        "continue",
        continuation_request(REQUEST, "abc def "),
        "abc def ",
        "continue",
        "resume",
        join_seam=True,
    )


def test_hybrid_keeps_a_partial_answer_only_over_its_threshold() -> None:
    step = partial_or_nonstream(min_chars=100)
    at_threshold = step(make_attempt_state(text="x" * 100, error=DROPPED))
    over = step(make_attempt_state(text="x" * 101, error=DROPPED))
    assert at_threshold == NextAttempt("nonstream", REQUEST, "", "nonstream", "nonstream")
    assert over == Finish("partial", "partial")
