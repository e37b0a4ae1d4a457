"""Chunks waiting for the recording's writer: no lock, and no object per chunk.

One producer (the generation's streaming thread) adds, one consumer (the recording's
writer thread) takes. A chunk is three integers (char_offset, chars, t_ms) appended to
one typed array in a single `extend`; where a run of one attempt and stage starts is
noted, as (first seq, attempt, stage), before the run's first chunk. Each of those
steps, like the writer's copy-and-delete of a prefix, is atomic under the GIL, so
neither side waits for the other. Thousands of chunk tuples kept alive until the next
batch used to set off extra garbage collections on the streaming thread, and the writer
then had to transpose them row by row; the typed array avoids both.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass

from planner.store.batch import ChunkRun

VALUES_PER_CHUNK = 3  # char_offset, chars, t_ms


@dataclass(frozen=True)
class TakenChunks:
    """What one take removed from the queue: chunks `first_seq` on, cut into runs."""

    first_seq: int
    values: array[int]
    runs: list[ChunkRun]

    @property
    def count(self) -> int:
        return len(self.values) // VALUES_PER_CHUNK


class ChunkQueue:
    def __init__(self, next_seq: int) -> None:
        self.next_seq = next_seq
        self._values = array("q")
        self._first_seq = next_seq  # the seq of the first chunk in _values
        self._runs: list[tuple[int, int, str]] = []  # (first seq, attempt, stage)
        self._attempt: int | None = None
        self._stage: str | None = None

    def __len__(self) -> int:
        return len(self._values) // VALUES_PER_CHUNK

    def add(self, attempt: int, stage: str, char_offset: int, chars: int, t_ms: int) -> int:
        """Queue one chunk (producer thread only); returns its seq."""
        seq = self.next_seq
        self.next_seq = seq + 1
        if attempt != self._attempt or stage != self._stage:
            self._attempt, self._stage = attempt, stage
            self._runs.append((seq, attempt, stage))
        self._values.extend((char_offset, chars, t_ms))
        return seq

    def take(self) -> TakenChunks | None:
        """Everything queued so far (consumer thread only), or None."""
        values = self._values
        count = len(values)
        if count == 0:
            return None
        taken = values[:count]
        del values[:count]  # chunks added meanwhile stay, after the taken ones
        first = self._first_seq
        self._first_seq = first + count // VALUES_PER_CHUNK
        return TakenChunks(first, taken, self._cut(first, taken))

    def give_back(self, taken: TakenChunks) -> None:
        """A take that could not be stored goes back in front (consumer thread only)."""
        self._values[0:0] = taken.values
        self._first_seq = taken.first_seq

    def stored(self, taken: TakenChunks) -> None:
        """A take is stored: runs that ended before its end are no longer needed."""
        del self._runs[: self._run_of(taken.first_seq + taken.count)]

    def _cut(self, first: int, values: array[int]) -> list[ChunkRun]:
        end = first + len(values) // VALUES_PER_CHUNK
        starts = self._runs  # the producer may append meanwhile, never before `end`
        runs = []
        for index in range(self._run_of(first), len(starts)):
            start, attempt, stage = starts[index]
            if start >= end:
                break
            low = max(start, first)
            high = min(starts[index + 1][0], end) if index + 1 < len(starts) else end
            part = values[VALUES_PER_CHUNK * (low - first) : VALUES_PER_CHUNK * (high - first)]
            runs.append(ChunkRun(low, attempt, stage, part[0::3], part[1::3], part[2::3]))
        return runs

    def _run_of(self, seq: int) -> int:
        """Index in _runs of the run that chunk `seq` belongs to."""
        starts = self._runs
        index = 0
        while index + 1 < len(starts) and starts[index + 1][0] <= seq:
            index += 1
        return index
