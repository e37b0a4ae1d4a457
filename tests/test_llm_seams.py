"""Seam joining as real continuations write it, property-tested over random cut points.

Pure functions on strings: an answer is streamed in random deltas through the `LagBuffer`
until a random cut; the continuation a model writes from the delivered text (nothing
repeated, 1–3 characters or a longer stretch repeated, a preamble, a reopened code fence,
the last line restarted in other words) goes through the `AnchoredJoiner`; the stitched
text must be the fault-free answer, and `on_chunk` must never have been handed anything
that is later taken back (the deliveries only ever append).
"""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from planner.llm.seams import ANCHOR_MIN_CHARS, AnchoredJoiner, LagBuffer, strip_opening
from tests.plan_samples import plan_text

ANSWER = plan_text()


def split(text: str, cuts: list[int]) -> list[str]:
    points = sorted({0, len(text), *(c % (len(text) + 1) for c in cuts)})
    return [text[a:b] for a, b in zip(points, points[1:], strict=False)]


def reword(line: str) -> str:
    """The line restarted in slightly other words (what a model may do on a new turn)."""
    return line.replace('"', "'", 1) + " (again)" if line else "Again:"


def no_repeat(kept: str, answer: str) -> str:
    return answer[len(kept) :]


def repeating(count: int) -> Callable[[str, str], str]:
    return lambda kept, answer: answer[len(kept) - min(count, len(kept)) :]


def preamble(kept: str, answer: str) -> str:
    return "Continuing from where I left off:\n\n" + answer[len(kept) :]


def fence(kept: str, answer: str) -> str:
    return "```json\n" + answer[len(kept) :] + "\n```"


def restarted_line(kept: str, answer: str) -> str:
    last_line = kept[:-1].rsplit("\n", 1)[-1] if kept.endswith("\n") else ""
    return reword(last_line) + "\n" + answer[len(kept) :]


BEHAVIOURS = {
    "none": no_repeat,
    "repeat-1": repeating(1),
    "repeat-2": repeating(2),
    "repeat-3": repeating(3),
    "repeat-40": repeating(40),
    "preamble": preamble,
    "fence": fence,
    "reworded": restarted_line,
}


def stream_until(answer: str, cut: int, deltas: list[int]) -> tuple[list[str], LagBuffer]:
    delivered: list[str] = []
    lag = LagBuffer(delivered.append)
    for piece in split(answer[:cut], deltas):
        lag.feed(piece)
    return delivered, lag


def continue_after(
    delivered: list[str], lag: LagBuffer, continuation: str, deltas: list[int]
) -> AnchoredJoiner:
    kept, anchor = "".join(delivered), lag.pending
    lag.pending = ""
    joiner = AnchoredJoiner(kept, anchor)
    for piece in split(continuation, deltas):
        for released in joiner.feed(piece):
            lag.feed(released)
    for released in joiner.finish():
        lag.feed(released)
    lag.flush(drop_closing_fence=joiner.opened_fence)
    return joiner


cut_points = st.integers(min_value=ANCHOR_MIN_CHARS * 3, max_value=len(ANSWER) - 1)
delta_cuts = st.lists(st.integers(min_value=0, max_value=10**6), max_size=60)


@settings(max_examples=60, deadline=None)
@given(
    behaviour=st.sampled_from(sorted(BEHAVIOURS)),
    cut=cut_points,
    before=delta_cuts,
    after=delta_cuts,
)
def test_every_continuation_behaviour_stitches_to_the_fault_free_answer(
    behaviour: str, cut: int, before: list[int], after: list[int]
) -> None:
    delivered, lag = stream_until(ANSWER, cut, before)
    kept = "".join(delivered)
    assert kept.endswith("\n") or not kept, "the text sent ends at a line break"
    assert ANSWER[: len(kept) + len(lag.pending)] == ANSWER[:cut]
    continuation = BEHAVIOURS[behaviour](kept, ANSWER)
    joiner = continue_after(delivered, lag, continuation, after)
    assert "".join(delivered) == ANSWER
    assert joiner.seam != "fallback"
    if behaviour == "none":
        assert joiner.seam == "exact"


@settings(max_examples=40, deadline=None)
@given(cut=cut_points, before=delta_cuts, after=delta_cuts)
def test_a_continuation_that_takes_another_path_is_joined_by_the_fallback_and_recorded(
    cut: int, before: list[int], after: list[int]
) -> None:
    delivered, lag = stream_until(ANSWER, cut, before)
    kept = "".join(delivered)
    other_path = '"something else entirely": true\n}'
    joiner = continue_after(delivered, lag, other_path, after)
    final = "".join(delivered)
    assert joiner.seam == "fallback"
    assert final.startswith(kept), "nothing delivered is taken back"
    assert final.endswith(other_path)


def test_the_lag_buffer_holds_back_the_last_line_and_delivers_it_at_the_end() -> None:
    delivered: list[str] = []
    lag = LagBuffer(delivered.append)
    first = '{\n  "name": "a long enough first line",\n'
    lag.feed(first + '  "second": "a line that is held back whole')
    assert "".join(delivered) == '{\n  "name": "a long enough first line",\n'
    assert lag.pending.startswith('  "second"')
    lag.flush()
    assert "".join(delivered).endswith("held back whole")


def test_openings_models_write_are_recognised() -> None:
    assert strip_opening("```json\n{") == ("fence", "{")
    assert strip_opening("Continuing from where I left off:\n\n  }") == ("preamble", "  }")
    assert strip_opening('  "key": 1') == ("", '  "key": 1')
