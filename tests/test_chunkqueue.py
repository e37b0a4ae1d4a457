"""The recorder's chunk queue: every chunk comes out once, in order, under its own run."""

from __future__ import annotations

import sys
import threading

from planner.store.batch import ChunkRow, ChunkRun
from planner.store.chunkqueue import ChunkQueue


def _rows(runs: list[ChunkRun]) -> list[ChunkRow]:
    rows = []
    for run in runs:
        columns = zip(run.offsets, run.chars, run.t_ms, strict=True)
        rows += [(run.first_seq + i, run.attempt, run.stage, *row) for i, row in enumerate(columns)]
    return rows


def _add(queue: ChunkQueue, attempt: int, stage: str, count: int) -> list[ChunkRow]:
    added = []
    for _ in range(count):
        offset = 10 * queue.next_seq
        seq = queue.add(attempt, stage, offset, 7, offset // 2)
        added.append((seq, attempt, stage, offset, 7, offset // 2))
    return added


def test_takes_cut_across_runs_and_keep_each_chunks_attempt_and_stage() -> None:
    queue = ChunkQueue(next_seq=41)
    added, taken = [], []
    for attempt, stage, count in [(1, "discovery", 3), (2, "discovery", 5), (2, "masterplan", 1)]:
        added += _add(queue, attempt, stage, count)
        if count > 1:  # a take in the middle of every run longer than one chunk
            expected_first = taken[-1][0] + 1 if taken else 41
            part = queue.take()
            assert part is not None and part.first_seq == expected_first
            taken += _rows(part.runs)
            queue.stored(part)
    added += _add(queue, 3, "masterplan", 4)
    last = queue.take()
    assert last is not None and len(last.runs) == 2  # the masterplan chunk of attempt 2, then 3
    taken += _rows(last.runs)
    assert taken == added and [row[0] for row in taken] == list(range(41, 54))
    assert queue.take() is None and len(queue) == 0


def test_a_take_given_back_comes_out_again_before_newer_chunks() -> None:
    queue = ChunkQueue(next_seq=1)
    added = _add(queue, 1, "discovery", 4) + _add(queue, 2, "discovery", 2)
    failed = queue.take()
    assert failed is not None and failed.count == 6
    added += _add(queue, 2, "discovery", 3)
    queue.give_back(failed)
    assert len(queue) == 9
    again = queue.take()
    assert again is not None and _rows(again.runs) == added
    assert [(run.first_seq, run.attempt) for run in again.runs] == [(1, 1), (5, 2)]


def test_a_run_still_in_force_is_remembered_after_its_chunks_are_stored() -> None:
    queue = ChunkQueue(next_seq=1)
    _add(queue, 1, "discovery", 2)
    _add(queue, 1, "masterplan", 2)
    first = queue.take()
    assert first is not None
    queue.stored(first)
    later = _add(queue, 1, "masterplan", 3)  # the same run goes on: nothing new is noted
    second = queue.take()
    assert second is not None and _rows(second.runs) == later


def test_a_producer_and_a_consumer_thread_lose_and_repeat_nothing() -> None:
    queue = ChunkQueue(next_seq=1)
    total = 60_000
    taken: list[ChunkRow] = []
    done = threading.Event()

    def produce() -> None:
        for i in range(total):
            queue.add(1 + i // 7_000, "masterplan" if i % 20_000 else "repair", i, 3, i)
        done.set()

    def consume() -> None:
        while not done.is_set() or len(queue):
            part = queue.take()
            if part is not None:
                taken.extend(_rows(part.runs))
                queue.stored(part)

    threads = [threading.Thread(target=produce), threading.Thread(target=consume)]
    # Switch threads as often as the interpreter can, so that the gaps between the
    # steps of a take and of an add are hit many times over.
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        sys.setswitchinterval(previous)
    assert [row[0] for row in taken] == list(range(1, total + 1))
    assert taken == [
        (i + 1, 1 + i // 7_000, "masterplan" if i % 20_000 else "repair", i, 3, i)
        for i in range(total)
    ]
