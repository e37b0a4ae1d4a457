"""One rule for every run, planner's strategies and other libraries alike: is the answer right?

Success means the final text equals the fault-free answer for the same seed, nothing else.
A client is not believed on its word: a stream that ended without `message_stop` and came
back as if complete is *silently truncated*, a failure reported as such; a text that repeats
part of itself at a seam (a continuation that did not remove its overlap) is *duplicated*;
anything else that differs is *corrupted*. A client that said it failed (a library raised,
planner returned an incomplete result) is `FAILED_RAISED`, whatever text it held.

The judge needs nothing but two strings and the client's claim, so it imports nothing and
planner's own experiments can use it as they are.
"""

from __future__ import annotations

import os
from enum import StrEnum


class Outcome(StrEnum):
    COMPLETE = "complete"
    FAILED_RAISED = "failed_raised"
    SILENTLY_TRUNCATED = "silently_truncated"
    DUPLICATED = "duplicated"
    CORRUPTED = "corrupted"

    @property
    def success(self) -> bool:
        return self is Outcome.COMPLETE

    @property
    def label(self) -> str:
        """How a table shows it."""
        return _LABELS[self]


_LABELS = {
    Outcome.COMPLETE: "complete",
    Outcome.FAILED_RAISED: "raised",
    Outcome.SILENTLY_TRUNCATED: "silently truncated",
    Outcome.DUPLICATED: "duplicated",
    Outcome.CORRUPTED: "corrupted",
}


def _repeats_one_span(text: str, expected: str) -> bool:
    """Whether `text` is `expected` with one span written twice: expected[:i] + expected[i-d:].

    `d` extra characters; the seam `i` must lie within the common prefix and leave the rest
    within the common suffix, which two linear scans decide.
    """
    extra = len(text) - len(expected)
    if extra <= 0:
        return False
    prefix = len(os.path.commonprefix([text, expected]))
    suffix = len(os.path.commonprefix([text[::-1], expected[::-1]]))
    return max(extra, len(text) - suffix) <= prefix


def judge(text: str, expected: str, *, claimed_success: bool) -> Outcome:
    """The outcome of a run that ended with `text`, when the fault-free answer is `expected`."""
    if not claimed_success:
        return Outcome.FAILED_RAISED
    if text == expected:
        return Outcome.COMPLETE
    if expected.startswith(text):
        return Outcome.SILENTLY_TRUNCATED
    if _repeats_one_span(text, expected):
        return Outcome.DUPLICATED
    return Outcome.CORRUPTED


__all__ = ["Outcome", "judge"]
