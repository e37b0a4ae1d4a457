"""The bulk inserts under the recorder: every shape of batch stores exactly its rows."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest
from sqlalchemy import select

from planner.analysis.timelines import chunk_rows
from planner.db import GenerationEvent, get_engine, session_scope
from planner.plan.bulk import CHUNK_COLUMNS, ChunkRow, EventRow, insert_chunks, insert_events


def _stored_chunks(url: str, generation_id: uuid.UUID) -> list[ChunkRow]:
    frame = chunk_rows(generation_id, url=url)
    return [tuple(row) for row in frame[list(CHUNK_COLUMNS)].itertuples(index=False)]


def _insert(url: str, generation_id: uuid.UUID, rows: list[ChunkRow]) -> None:
    with get_engine(url).begin() as conn:
        insert_chunks(conn, generation_id, rows)


def test_a_run_of_one_attempt_and_stage_stores_every_row(
    database_url: str, generation_id: uuid.UUID
) -> None:
    rows = [(s, 3, "masterplan", 100 + s * 7, 7, 5 * s) for s in range(1, 2501)]
    _insert(database_url, generation_id, rows)
    _insert(database_url, generation_id, [(2501, 3, "masterplan", 0, 1, 99_999)])
    assert _stored_chunks(database_url, generation_id) == [
        *rows,
        (2501, 3, "masterplan", 0, 1, 99_999),
    ]


@pytest.mark.parametrize(
    "shape",
    ["attempt changes", "stage changes", "seq gap", "seqs out of order", "awkward stage names"],
)
def test_mixed_batches_store_every_row_as_given(
    database_url: str, generation_id: uuid.UUID, shape: str
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
    _insert(database_url, generation_id, rows)
    assert _stored_chunks(database_url, generation_id) == sorted(rows)


def test_events_keep_seq_name_payload_and_time(database_url: str, generation_id: uuid.UUID) -> None:
    created = [datetime(2026, 11, 29, 12, 0, 0), datetime(2026, 11, 29, 12, 0, 1, 250_000)]
    payloads = [
        {"text": 'a "quoted" line\nwith \\ and é, 🙂 and </script>', "from_char": 0},
        {"nested": {"list": [1, 2.5, None, True], "empty": {}}, "percentage": 99.5},
    ]
    rows: list[EventRow] = [
        (1, "masterplan_text_delta", payloads[0], created[0]),
        (2, "tokens_progress", payloads[1], created[1]),
    ]
    with get_engine(database_url).begin() as conn:
        insert_events(conn, generation_id, rows)
        insert_events(conn, generation_id, [])
    with session_scope(database_url) as session:
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


def test_a_batch_that_breaks_the_key_stores_nothing(
    database_url: str, generation_id: uuid.UUID
) -> None:
    _insert(database_url, generation_id, [(1, 1, "discovery", 0, 1, 0)])
    with pytest.raises(Exception, match=r"(?i)duplicate|constraint|unique"):
        _insert(database_url, generation_id, [(s, 1, "discovery", s, 1, s) for s in range(2)])
    assert _stored_chunks(database_url, generation_id) == [(1, 1, "discovery", 0, 1, 0)]
