"""The recorder: batched chunks (none lost), events under their bus seq, attempts, heartbeat."""

from __future__ import annotations

import time
import uuid

import psycopg
import pytest
from sqlalchemy import func, select

from planner.analysis.timelines import chunk_rows
from planner.db import (
    Generation,
    GenerationAttempt,
    GenerationChunk,
    GenerationEvent,
    get_engine,
    session_scope,
)
from planner.events import EventBus, GenerationEvents, TextDelta, TokensProgress
from planner.llm.types import AttemptRecord
from planner.plan import recorder as recorder_module
from planner.plan.bulk import CHUNK_COLUMNS, ChunkRun
from planner.plan.recorder import GenerationRecorder
from tests.conftest import stored_generation


def _chunk_seqs(url: str, generation_id: uuid.UUID) -> list[int]:
    with session_scope(url) as session:
        return list(
            session.scalars(
                select(GenerationChunk.seq)
                .where(GenerationChunk.generation_id == generation_id)
                .order_by(GenerationChunk.seq)
            )
        )


def _store_failing_on_call(monkeypatch: pytest.MonkeyPatch, failing: int) -> list[list[ChunkRun]]:
    """The recorder's batch writes, the `failing`-th of which fails; returns each call's
    chunk runs."""
    real_store = recorder_module.store_batch
    calls: list[list[ChunkRun]] = []

    def store(conn, gid, **rows):  # noqa: ANN001, ANN003, ANN202
        calls.append(rows["chunks"])
        if len(calls) == failing:
            raise RuntimeError("the database went away for a moment")
        return real_store(conn, gid, **rows)

    monkeypatch.setattr(recorder_module, "store_batch", store)
    return calls


def test_twenty_thousand_chunks_cost_a_handful_of_transactions_and_none_is_lost(
    database_url: str, generation_id: uuid.UUID
) -> None:
    recorder = GenerationRecorder(generation_id, database_url=database_url, fresh=True)
    for i in range(20_000):
        recorder.add_chunk(
            attempt=1 + i // 15_000, stage="masterplan", char_offset=i * 4, chars=4, t_ms=i
        )
    recorder.close(status="completed")
    assert _chunk_seqs(database_url, generation_id) == list(range(1, 20_001))
    assert recorder.transactions <= 20
    with session_scope(database_url) as session:
        last = session.get(GenerationChunk, (generation_id, 20_000))
        assert (last.attempt, last.char_offset, last.chars, last.t_ms) == (2, 79_996, 4, 19_999)
        assert session.get(Generation, generation_id).status == "completed"


def test_runs_of_attempts_and_stages_survive_concurrent_batches_and_a_failed_write(
    database_url: str, generation_id: uuid.UUID, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every chunk keeps its own attempt and stage, however batches cut across runs."""
    calls = _store_failing_on_call(monkeypatch, 3)
    recorder = GenerationRecorder(
        generation_id, database_url=database_url, fresh=True, chunk_batch=37, flush_interval_s=0.01
    )
    # Runs of 1 to 90 chunks: attempt changes, stage changes, and both at once.
    plan = [(1, "discovery", 5), (2, "discovery", 90), (3, "masterplan", 1), (3, "repair", 40)]
    plan += [(4, "masterplan", 61), (5, "masterplan", 2), (6, "masterplan", 300)]
    handed = []
    for attempt, stage, count in plan:
        for _ in range(count):
            offset = len(handed) * 3
            seq = recorder.add_chunk(
                attempt=attempt, stage=stage, char_offset=offset, chars=3, t_ms=2 * offset
            )
            handed.append((seq, attempt, stage, offset, 3, 2 * offset))
            if seq % 50 == 0:
                time.sleep(0.005)  # let the writer take batches mid-run
    recorder.close()
    assert len(calls) > 3 and max(len(runs) for runs in calls) > 1  # batches cut across runs
    stored = chunk_rows(generation_id, url=database_url)[list(CHUNK_COLUMNS)]
    assert list(stored.itertuples(index=False, name=None)) == handed


def test_events_are_stored_under_the_seq_the_bus_gave_them(
    database_url: str, generation_id: uuid.UUID
) -> None:
    bus = EventBus()
    recorder = GenerationRecorder(generation_id, database_url=database_url, fresh=True)
    handle = bus.subscribe(recorder.on_event, generation_id)
    published = []
    watcher = bus.subscribe(published.append, generation_id)
    events = GenerationEvents(bus, generation_id)
    for i in range(300):
        events.emit(TokensProgress(tokens_received=i, estimated_total=300, percentage=i / 3))
        events.emit(TextDelta(text=f"piece {i}", from_char=i * 7))
    bus.unsubscribe(handle, wait=True)
    bus.unsubscribe(watcher, wait=True)
    recorder.close()
    with session_scope(database_url) as session:
        stored = session.execute(
            select(GenerationEvent.seq, GenerationEvent.name, GenerationEvent.payload)
            .where(GenerationEvent.generation_id == generation_id)
            .order_by(GenerationEvent.seq)
        ).all()
    assert [seq for seq, _, _ in stored] == list(range(1, 601))
    assert [(m.seq, m.name, m.payload) for m in published] == [tuple(row) for row in stored]
    assert stored[4] == (5, "masterplan_tokens_progress", published[4].payload)
    assert stored[4][2]["tokens_received"] == 2 and stored[599][2]["text"] == "piece 299"


def test_a_failed_write_is_retried_with_everything_it_held(
    database_url: str, generation_id: uuid.UUID, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _store_failing_on_call(monkeypatch, 1)
    recorder = GenerationRecorder(
        generation_id, database_url=database_url, fresh=True, flush_interval_s=0.05
    )
    for i in range(100):
        recorder.add_chunk(attempt=1, stage="discovery", char_offset=i, chars=1, t_ms=i)
    time.sleep(0.3)
    for i in range(100, 150):
        recorder.add_chunk(attempt=1, stage="discovery", char_offset=i, chars=1, t_ms=i)
    recorder.close()
    assert sum(len(run.offsets) for run in calls[0]) > 0  # the failed batch held chunks
    assert _chunk_seqs(database_url, generation_id) == list(range(1, 151))


def test_attempts_are_upserted_and_only_the_newest_checkpoint_is_written(
    database_url: str, generation_id: uuid.UUID
) -> None:
    recorder = GenerationRecorder(generation_id, database_url=database_url, fresh=True)
    first = AttemptRecord(
        number=1,
        kind="stream",
        start_ms=0,
        end_ms=900,
        chars=1200,
        error_type="connection_dropped",
        error_message="reset by peer",
    )
    recorder.record_attempt(first, number=1, stage="masterplan", start_ms=100, end_ms=1000)
    recorder.flush()
    recorder.record_attempt(first, number=1, stage="masterplan", start_ms=100, end_ms=1100)
    second = AttemptRecord(
        number=2,
        kind="resume",
        start_ms=1200,
        end_ms=2000,
        chars=800,
        resume_from_char=1200,
        stop_reason="end_turn",
    )
    recorder.record_attempt(second, number=2, stage="masterplan", start_ms=1300, end_ms=2100)
    for length in (500, 1000, 1500):
        recorder.checkpoint("masterplan", "x" * length)
    recorder.close()
    assert recorder.next_attempt_number == 3
    with session_scope(database_url) as session:
        attempts = session.scalars(
            select(GenerationAttempt)
            .where(GenerationAttempt.generation_id == generation_id)
            .order_by(GenerationAttempt.number)
        ).all()
        assert [(a.number, a.kind, a.end_ms, a.error_type) for a in attempts] == [
            (1, "stream", 1100, "connection_dropped"),
            (2, "resume", 2100, None),
        ]
        assert attempts[1].resume_from_char == 1200 and attempts[1].stop_reason == "end_turn"
        row = session.get(Generation, generation_id)
        assert (row.checkpoint_stage, row.checkpoint_offset, len(row.checkpoint_text)) == (
            "masterplan",
            1500,
            1500,
        )


def test_the_heartbeat_moves_while_nothing_else_happens(
    database_url: str, generation_id: uuid.UUID
) -> None:
    with session_scope(database_url) as session:
        before = session.get(Generation, generation_id).heartbeat_at
    recorder = GenerationRecorder(
        generation_id,
        database_url=database_url,
        fresh=True,
        flush_interval_s=0.05,
        heartbeat_interval_s=0.1,
    )
    time.sleep(0.6)
    with session_scope(database_url) as session:
        during = session.get(Generation, generation_id).heartbeat_at
    recorder.close()
    assert during > before
    assert recorder.transactions >= 2


def test_a_reopened_generation_continues_its_numbering(
    database_url: str, generation_id: uuid.UUID
) -> None:
    first = GenerationRecorder(generation_id, database_url=database_url, fresh=True)
    for i in range(10):
        first.add_chunk(attempt=1, stage="discovery", char_offset=i, chars=1, t_ms=i)
    first.record_attempt(
        AttemptRecord(1, "stream", 0, 10), number=1, stage="discovery", start_ms=0, end_ms=10
    )
    first.close()
    second = GenerationRecorder(generation_id, database_url=database_url)
    assert (second.next_chunk_seq, second.next_attempt_number) == (11, 2)
    second.add_chunk(attempt=2, stage="discovery", char_offset=10, chars=1, t_ms=20)
    second.close()
    assert _chunk_seqs(database_url, generation_id) == list(range(1, 12))
    with session_scope(database_url) as session:
        assert session.scalar(select(func.count()).select_from(GenerationAttempt)) == 1


def test_postgresql_batches_share_one_connection_and_outlive_losing_it(
    pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """One autocommit connection per recorder; a dropped one is replaced, nothing lost."""
    generation_id = stored_generation(pg_url)
    pool = get_engine(pg_url).pool
    recorder = GenerationRecorder(
        generation_id, database_url=pg_url, fresh=True, flush_interval_s=0.02
    )
    for i in range(50):
        recorder.add_chunk(attempt=1, stage="discovery", char_offset=i, chars=1, t_ms=i)
    recorder.flush()
    assert pool.checkedout() == 1
    with psycopg.connect(pg_url.replace("postgresql+psycopg://", "postgresql://")) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    for i in range(50, 120):
        recorder.add_chunk(attempt=1, stage="discovery", char_offset=i, chars=1, t_ms=i)
    recorder.close(timeout_s=20, status="completed")  # a writer stuck on it fails here
    assert "recording write failed" in caplog.text  # the lost connection was noticed
    assert _chunk_seqs(pg_url, generation_id) == list(range(1, 121))
    assert pool.checkedout() == 0
