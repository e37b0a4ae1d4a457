"""The one rule every run is judged by, on plain strings: the fault-free answer or a failure,
and a failure named for what the consumer would have been handed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from planner.contenders import Outcome, judge

ANSWER = '{"phases": [{"name": "Foundations", "tasks": [1, 2, 3]}], "total_tasks": 3}'


def test_the_fault_free_text_is_complete() -> None:
    assert judge(ANSWER, ANSWER, claimed_success=True) is Outcome.COMPLETE
    assert Outcome.COMPLETE.success


def test_a_client_that_said_it_failed_failed_whatever_text_it_held() -> None:
    assert judge(ANSWER, ANSWER, claimed_success=False) is Outcome.FAILED_RAISED
    assert judge("", ANSWER, claimed_success=False) is Outcome.FAILED_RAISED


@pytest.mark.parametrize("kept", [0, 1, 30, len(ANSWER) - 1])
def test_a_prefix_returned_as_complete_is_silently_truncated(kept: int) -> None:
    outcome = judge(ANSWER[:kept], ANSWER, claimed_success=True)
    assert outcome is Outcome.SILENTLY_TRUNCATED
    assert not outcome.success and outcome.label == "silently truncated"


def test_a_continuation_that_kept_its_overlap_is_duplicated() -> None:
    cut, overlap = 40, 12
    stitched = ANSWER[:cut] + ANSWER[cut - overlap :]
    assert judge(stitched, ANSWER, claimed_success=True) is Outcome.DUPLICATED


def test_the_whole_answer_after_a_partial_one_is_duplicated() -> None:
    """What a consumer holds who kept every delta of a stream retried from the start."""
    assert judge(ANSWER[:50] + ANSWER, ANSWER, claimed_success=True) is Outcome.DUPLICATED


def test_a_repeated_end_is_duplicated() -> None:
    assert judge(ANSWER + ANSWER[-7:], ANSWER, claimed_success=True) is Outcome.DUPLICATED


@pytest.mark.parametrize(
    "damaged",
    [
        "Here is the plan:\n" + ANSWER,
        ANSWER.replace("Foundations", "Foundation"),
        ANSWER[:30] + ANSWER[40:],
        ANSWER + " Let me know if you need changes.",
    ],
    ids=["preamble", "changed word", "lost span", "appended prose"],
)
def test_any_other_difference_is_corrupted(damaged: str) -> None:
    assert judge(damaged, ANSWER, claimed_success=True) is Outcome.CORRUPTED


@given(st.text(min_size=1, max_size=80), st.data())
def test_one_repeated_span_anywhere_is_always_found(answer: str, data: st.DataObject) -> None:
    seam = data.draw(st.integers(1, len(answer)))
    back = data.draw(st.integers(1, seam))
    stitched = answer[:seam] + answer[seam - back :]
    assert judge(stitched, answer, claimed_success=True) is Outcome.DUPLICATED


def test_outcomes_are_stored_by_their_value() -> None:
    assert [o.value for o in Outcome] == [
        "complete",
        "failed_raised",
        "silently_truncated",
        "duplicated",
        "corrupted",
    ]
    assert Outcome("silently_truncated") is Outcome.SILENTLY_TRUNCATED
