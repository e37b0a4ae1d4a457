"""The batch writes under the recording: every shape of batch stores exactly its rows."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select

from planner.analysis.timelines import chunk_rows
from planner.db import Database, Generation, GenerationAttempt, GenerationEvent
from planner.llm.types import AttemptRecord
from planner.store.batch import (
    CHUNK_COLUMNS,
    ChunkRow,
    ChunkRun,
    EventRow,
    insert_chunk_runs,
    insert_events,
    store_batch,
)


def _stored_chunks(db: Database, generation_id: uuid.UUID) -> list[ChunkRow]:
    frame = chunk_rows(db, generation_id)
    return [tuple(row) for row in frame[list(CHUNK_COLUMNS)].itertuples(index=False)]


def chunk_runs(rows: list[ChunkRow]) -> list[ChunkRun]:
    """Any chunk rows as runs, in seq order (a repeated seq starts a run of its own)."""
    runs: list[tuple[int, int, str, list[int], list[int], list[int]]] = []
    for seq, attempt, stage, offset, chars, t_ms in sorted(rows, key=lambda row: row[0]):
        last = runs[-1] if runs else None
        if last is None or last[1:3] != (attempt, stage) or last[0] + len(last[3]) != seq:
            last = (seq, attempt, stage, [], [], [])
            runs.append(last)
        last[3].append(offset)
        last[4].append(chars)
        last[5].append(t_ms)
    return [ChunkRun(*run) for run in runs]


def _insert(db: Database, generation_id: uuid.UUID, rows: list[ChunkRow]) -> None:
    with db.engine.begin() as conn:
        insert_chunk_runs(conn, generation_id, chunk_runs(rows))


def test_a_run_of_one_attempt_and_stage_stores_every_row(
    db: Database, generation_id: uuid.UUID
) -> None:
    rows = [(s, 3, "masterplan", 100 + s * 7, 7, 5 * s) for s in range(1, 2501)]
    _insert(db, generation_id, rows)
    _insert(db, generation_id, [(2501, 3, "masterplan", 0, 1, 99_999)])
    assert _stored_chunks(db, generation_id) == [
        *rows,
        (2501, 3, "masterplan", 0, 1, 99_999),
    ]


@pytest.mark.parametrize(
    "shape",
    ["attempt changes", "stage changes", "seq gap", "seqs out of order", "awkward stage names"],
)
def test_mixed_batches_store_every_row_as_given(
    db: Database, generation_id: uuid.UUID, shape: str
) -> None:
    rows: list[ChunkRow] = [(s, 1, "discovery", s * 3, 3, s) for s in range(1, 301)]
    if shape == "attempt changes":
        rows += [(s, 2, "discovery", 0 if s == 301 else s, 3, s) for s in range(301, 600)]
    elif shape == "stage changes":
        rows += [(s, 2, "masterplan", s, 2, s) for s in range(301, 600)]
    elif shape == "seq gap":
        rows += [(s, 1, "discovery", s, 3, s) for s in range(400, 500)]
    elif shape == "seqs out of order":
        rows = rows[150:] + rows[:150]
    else:
        rows = [
            (s, 1, ['a "q", b', "back\\slash", "{brace}", "é ü"][s % 4], s, 1, s)
            for s in range(1, 401)
        ]
    _insert(db, generation_id, rows)
    assert _stored_chunks(db, generation_id) == sorted(rows)


def test_events_keep_seq_name_payload_and_time(db: Database, generation_id: uuid.UUID) -> None:
    created = [datetime(2026, 11, 29, 12, 0, 0), datetime(2026, 11, 29, 12, 0, 1, 250_000)]
    payloads = [
        {"text": 'a "quoted" line\nwith \\ and é, 🙂 and </script>', "from_char": 0},
        {"nested": {"list": [1, 2.5, None, True], "empty": {}}, "percentage": 99.5},
    ]
    rows: list[EventRow] = [
        (1, "masterplan_text_delta", payloads[0], created[0]),
        (2, "tokens_progress", payloads[1], created[1]),
    ]
    with db.engine.begin() as conn:
        insert_events(conn, generation_id, rows)
        insert_events(conn, generation_id, [])
    with db.session() as session:
        stored = session.execute(
            select(
                GenerationEvent.seq,
                GenerationEvent.name,
                GenerationEvent.payload,
                GenerationEvent.created_at,
            )
            .where(GenerationEvent.generation_id == generation_id)
            .order_by(GenerationEvent.seq)
        ).all()
    assert [tuple(row) for row in stored] == rows


def test_a_batch_that_breaks_the_key_stores_nothing(db: Database, generation_id: uuid.UUID) -> None:
    _insert(db, generation_id, [(1, 1, "discovery", 0, 1, 0)])
    with pytest.raises(Exception, match=r"(?i)duplicate|constraint|unique"):
        _insert(db, generation_id, [(s, 1, "discovery", s, 1, s) for s in range(2)])
    assert _stored_chunks(db, generation_id) == [(1, 1, "discovery", 0, 1, 0)]


def _store(db: Database, generation_id: uuid.UUID, stored_attempts: set[int], **batch: Any) -> None:
    rows: dict[str, Any] = {"chunks": [], "events": [], "attempts": [], "values": {}}
    with db.engine.begin() as conn:
        store_batch(conn, generation_id, stored_attempts=stored_attempts, **{**rows, **batch})


def _attempt(number: int, **changes: Any) -> dict[str, Any]:
    values = asdict(AttemptRecord(number=number, kind="stream", start_ms=10 * number))
    return {**values, "stage": "masterplan", "ended_at": None, **changes}


def test_a_whole_batch_lands_in_one_go(db: Database, generation_id: uuid.UUID) -> None:
    """Chunks, events, new attempts and row values: each written exactly as given."""
    ended = datetime(2026, 11, 29, 12, 0, 3, 500_000)
    discovery = {"domain": "shop", "risks": ['a "quoted" risk', "é"], "n": [1, 2.5, None]}
    _store(
        db,
        generation_id,
        set(),
        chunks=chunk_runs(
            [(s, 1, "discovery", s * 2, 2, s) for s in range(1, 61)]
            + [(s, 2, "discovery", s * 2, 2, s) for s in range(61, 101)]
        ),
        events=[(1, "masterplan_generation_start", {"stage": "discovery"}, ended)],
        attempts=[_attempt(1), _attempt(2, kind="resume", resume_from_char=40)],
        values={
            "stage": "masterplan",
            "checkpoint_text": "{'it''s' \\ \"text\"",
            "checkpoint_offset": 17,
            "discovery_json": discovery,
            "finished_at": ended,
            "duration_s": 1.25,
            "error": None,
        },
    )
    assert _stored_chunks(db, generation_id) == [
        (s, 1 if s < 61 else 2, "discovery", s * 2, 2, s) for s in range(1, 101)
    ]
    with db.session() as session:
        row = session.get(Generation, generation_id)
        assert (row.stage, row.checkpoint_text, row.checkpoint_offset) == (
            "masterplan",
            "{'it''s' \\ \"text\"",
            17,
        )
        assert row.discovery_json == discovery
        assert (row.finished_at, row.duration_s, row.error) == (ended, 1.25, None)
        assert session.get(GenerationEvent, (generation_id, 1)).created_at == ended
        attempts = _attempts(session, generation_id)
    assert [(a.number, a.kind, a.resume_from_char, a.start_ms) for a in attempts] == [
        (1, "stream", 0, 10),
        (2, "resume", 40, 20),
    ]
    assert all(a.started_at is not None and a.ended_at is None for a in attempts)


def test_a_stored_attempt_is_updated_in_place(db: Database, generation_id: uuid.UUID) -> None:
    _store(db, generation_id, set(), attempts=[_attempt(1)])
    with db.session() as session:
        (first,) = _attempts(session, generation_id)
        first_id, started = first.id, first.started_at
    ended = datetime(2026, 11, 29, 12, 0, 9)
    finished = _attempt(1, end_ms=900, chars=4_000, stop_reason="end_turn", ended_at=ended)
    _store(db, generation_id, {1}, attempts=[finished, _attempt(2)])
    with db.session() as session:
        attempts = _attempts(session, generation_id)
    assert [(a.number, a.end_ms, a.chars, a.stop_reason) for a in attempts] == [
        (1, 900, 4_000, "end_turn"),
        (2, None, 0, None),
    ]
    assert (attempts[0].id, attempts[0].started_at, attempts[0].ended_at) == (
        first_id,
        started,
        ended,
    )


def test_a_batch_naming_an_unknown_column_is_refused(
    db: Database, generation_id: uuid.UUID
) -> None:
    with pytest.raises(Exception, match="nickname"):
        _store(db, generation_id, set(), values={"nickname": "x"})
    with pytest.raises(Exception, match="colour"):
        _store(db, generation_id, set(), attempts=[_attempt(1, colour="red")])
    with db.session() as session:
        assert _attempts(session, generation_id) == []


def _attempts(session: Any, generation_id: uuid.UUID) -> list[GenerationAttempt]:
    return list(
        session.scalars(
            select(GenerationAttempt)
            .where(GenerationAttempt.generation_id == generation_id)
            .order_by(GenerationAttempt.number)
        )
    )
