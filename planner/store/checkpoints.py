"""A stage's checkpoint as appended segments: each batch writes only the new text.

The client hands over the whole text of the stage at every checkpoint; writing it whole
with every batch made the text written grow with the square of the answer. So the
database keeps `generation_checkpoints` rows `(seq, stage, from_char, text)`: the text
replaces the stage's checkpoint from `from_char` on. Between two batches the text almost
always only grew (one segment of the new part); a restart or a trimmed continuation
rewinds it, and the segment starts where the two texts part. A new stage starts at 0.

A resume rebuilds the stage's text by applying its segments in order, which gives back
exactly the text of the last stored batch.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class CheckpointState:
    """A stage's checkpoint text as of one moment."""

    stage: str
    text: str


Segment = tuple[str, int, str]  # stage, from_char, text


def _common_prefix(a: str, b: str) -> int:
    """Length of the longest common prefix, by bisection over C-level comparisons."""
    low, high = 0, min(len(a), len(b))
    while low < high:
        middle = (low + high + 1) // 2
        if a[:middle] == b[:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def segment_between(
    stored: CheckpointState | None, newest: CheckpointState | None
) -> Segment | None:
    """The segment that turns the stored checkpoint into `newest` (None: nothing to write)."""
    if newest is None or newest == stored:
        return None
    if stored is None or stored.stage != newest.stage:
        return newest.stage, 0, newest.text
    if newest.text.startswith(stored.text):
        start = len(stored.text)
    else:
        start = _common_prefix(stored.text, newest.text)
    if start == len(newest.text) == len(stored.text):
        return None
    return newest.stage, start, newest.text[start:]


def rebuild(segments: Iterable[tuple[int, str]]) -> str:
    """The text the segments `(from_char, text)` of one stage, in seq order, add up to."""
    parts: list[str] = []
    length = 0
    for from_char, text in segments:
        if from_char < length:
            joined = "".join(parts)[:from_char]
            parts, length = [joined], len(joined)
        parts.append(text)
        length += len(text)
    return "".join(parts)
