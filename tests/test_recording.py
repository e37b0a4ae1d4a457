"""The recording: chunks (none lost), events numbered and published, attempts, the
checkpoint appended piece by piece, the heartbeat, resumes, one completion transaction.

Most tests drive the writer by hand (`background=False`, `pump()`), so where a batch
ends is chosen by the test, not by a race with a thread.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta

import psycopg
import pytest
from sqlalchemy import event, func, select, update

from planner.analysis.timelines import chunk_rows
from planner.db import (
    Database,
    Generation,
    GenerationAttempt,
    GenerationCheckpoint,
    GenerationChunk,
    GenerationEvent,
    User,
)
from planner.events import GenerationComplete, GenerationError, TextDelta, TokensProgress
from planner.llm.types import AttemptRecord
from planner.store import GenerationStatus, GenerationStore, Recording, RecordingError
from planner.store import recording as recording_module
from planner.store.batch import CHUNK_COLUMNS, ChunkRun
from tests.conftest import stored_generation


def _chunk_seqs(db: Database, generation_id: uuid.UUID) -> list[int]:
    with db.session() as session:
        return list(
            session.scalars(
                select(GenerationChunk.seq)
                .where(GenerationChunk.generation_id == generation_id)
                .order_by(GenerationChunk.seq)
            )
        )


def _store_failing_on_call(monkeypatch: pytest.MonkeyPatch, failing: int) -> list[list[ChunkRun]]:
    """The recording's batch writes, the `failing`-th of which fails; returns each call's
    chunk runs."""
    real_store = recording_module.store_batch
    calls: list[list[ChunkRun]] = []

    def store(conn, gid, **rows):  # noqa: ANN001, ANN003, ANN202
        calls.append(rows["chunks"])
        if len(calls) == failing:
            raise RuntimeError("the database went away for a moment")
        return real_store(conn, gid, **rows)

    monkeypatch.setattr(recording_module, "store_batch", store)
    return calls


def _by_hand(db: Database, generation_id: uuid.UUID, **options) -> Recording:  # noqa: ANN003
    return Recording(db, generation_id, background=False, **options)


def test_twenty_thousand_chunks_from_a_background_writer_are_all_stored(
    db: Database, generation_id: uuid.UUID
) -> None:
    recording = Recording(db, generation_id)
    for i in range(20_000):
        recording.add_chunk(
            attempt=1 + i // 15_000, stage="masterplan", char_offset=i * 4, chars=4, t_ms=i
        )
    recording.close(status=GenerationStatus.COMPLETED)
    assert _chunk_seqs(db, generation_id) == list(range(1, 20_001))
    with db.session() as session:
        last = session.get(GenerationChunk, (generation_id, 20_000))
        assert (last.attempt, last.char_offset, last.chars, last.t_ms) == (2, 79_996, 4, 19_999)
        assert session.get(Generation, generation_id).status == "completed"


def test_one_batch_carries_everything_pending_in_one_transaction(
    db: Database, generation_id: uuid.UUID
) -> None:
    recording = _by_hand(db, generation_id)
    for i in range(20_000):
        recording.add_chunk(attempt=1, stage="masterplan", char_offset=i, chars=1, t_ms=i)
    assert recording.pump()
    assert (recording.transactions, recording.chunks_written) == (1, 20_000)
    assert _chunk_seqs(db, generation_id) == list(range(1, 20_001))


def test_runs_of_attempts_and_stages_survive_batches_cut_anywhere_and_a_failed_write(
    db: Database, generation_id: uuid.UUID, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every chunk keeps its own attempt and stage, however batches cut across runs."""
    calls = _store_failing_on_call(monkeypatch, 3)
    recording = _by_hand(db, generation_id)
    # Runs of 1 to 300 chunks: attempt changes, stage changes, and both at once.
    plan = [(1, "discovery", 5), (2, "discovery", 90), (3, "masterplan", 1), (3, "repair", 40)]
    plan += [(4, "masterplan", 61), (5, "masterplan", 2), (6, "masterplan", 300)]
    handed = []
    for attempt, stage, count in plan:
        for _ in range(count):
            offset = len(handed) * 3
            seq = recording.add_chunk(
                attempt=attempt, stage=stage, char_offset=offset, chars=3, t_ms=2 * offset
            )
            handed.append((seq, attempt, stage, offset, 3, 2 * offset))
            if seq % 37 == 0:
                recording.pump()  # the third of these fails and keeps its chunks
    recording.close()
    assert len(calls) == 14 and max(len(runs) for runs in calls) > 1  # cut across runs
    stored = chunk_rows(db, generation_id)[list(CHUNK_COLUMNS)]
    assert list(stored.itertuples(index=False, name=None)) == handed


def test_events_are_numbered_published_and_stored_in_one_order(
    db: Database, generation_id: uuid.UUID
) -> None:
    published = []
    recording = _by_hand(db, generation_id, publish=published.append)
    for i in range(300):
        recording.emit(TokensProgress(tokens_received=i, estimated_total=300, percentage=i / 3))
        recording.emit(TextDelta(text=f"piece {i}", from_char=i * 7))
        if i == 150:
            recording.pump()
    recording.close()
    with db.session() as session:
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
    db: Database, generation_id: uuid.UUID, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _store_failing_on_call(monkeypatch, 1)
    recording = _by_hand(db, generation_id)
    for i in range(100):
        recording.add_chunk(attempt=1, stage="discovery", char_offset=i, chars=1, t_ms=i)
    assert not recording.pump()
    for i in range(100, 150):
        recording.add_chunk(attempt=1, stage="discovery", char_offset=i, chars=1, t_ms=i)
    recording.close()
    assert sum(len(run.offsets) for run in calls[0]) == 100  # the failed batch held chunks
    assert _chunk_seqs(db, generation_id) == list(range(1, 151))


def test_attempts_are_upserted(db: Database, generation_id: uuid.UUID) -> None:
    recording = _by_hand(db, generation_id)
    first = AttemptRecord(
        number=1,
        kind="stream",
        start_ms=0,
        end_ms=900,
        chars=1200,
        error_type="connection_dropped",
        error_message="reset by peer",
    )
    recording.record_attempt(first, number=1, stage="masterplan", start_ms=100, end_ms=1000)
    recording.pump()
    recording.record_attempt(first, number=1, stage="masterplan", start_ms=100, end_ms=1100)
    second = AttemptRecord(
        number=2,
        kind="resume",
        start_ms=1200,
        end_ms=2000,
        chars=800,
        resume_from_char=1200,
        stop_reason="end_turn",
    )
    recording.record_attempt(second, number=2, stage="masterplan", start_ms=1300, end_ms=2100)
    recording.close()
    assert recording.next_attempt_number == 3
    with db.session() as session:
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


@pytest.fixture
def text_written(db: Database) -> Iterator[list[int]]:
    """Characters of text sent to the database in statement parameters, per statement."""
    sizes: list[int] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        values = parameters.values() if isinstance(parameters, dict) else parameters or ()
        sizes.append(sum(len(v) for v in values if isinstance(v, str)))

    event.listen(db.engine, "before_cursor_execute", count)
    yield sizes
    event.remove(db.engine, "before_cursor_execute", count)


def test_the_checkpoint_text_written_stays_about_the_final_text(
    db: Database, generation_id: uuid.UUID, text_written: list[int]
) -> None:
    """A batch writes only what is new: 400 batches of a 100,000-character answer write
    about 100,000 characters, not the 20 million a whole rewrite per batch would. (Every
    batch also sends its generation id twice and the stage name: under 100 characters.)"""
    answer = "".join(f'{{"task_number": {n}, "name": "step {n}"}}, ' for n in range(3000))[:100_000]
    recording = _by_hand(db, generation_id)
    batches = range(250, len(answer) + 1, 250)
    for end in batches:
        recording.checkpoint("masterplan", answer[:end])
        recording.pump()
    before_close = sum(text_written)
    recording.close(status=GenerationStatus.COMPLETED)
    assert recording.transactions == len(batches) + 1
    assert before_close <= len(answer) + 100 * len(batches)
    assert sum(text_written) - before_close <= len(answer) + 100  # the row's copy, once
    with db.session() as session:
        row = session.get(Generation, generation_id)
        assert (row.checkpoint_stage, row.checkpoint_offset) == ("masterplan", len(answer))
        assert row.checkpoint_text == answer


def _interrupt(db: Database, generation_id: uuid.UUID) -> None:
    """What the liveness scan does to a generation whose process died."""
    with db.begin() as conn:
        conn.execute(
            update(Generation)
            .where(Generation.id == generation_id)
            .values(status=GenerationStatus.INTERRUPTED)
        )


def test_a_resume_after_a_crash_continues_from_exactly_the_stored_prefix(
    db: Database, generation_id: uuid.UUID
) -> None:
    """Appends, a restart that rewinds to an earlier character, appends again: a process
    that dies after a batch leaves exactly that batch's text, not a newer one."""
    recording = _by_hand(db, generation_id)
    recording.checkpoint("discovery", '{"domain": "bakery"}')
    recording.pump()
    recording.update(discovery_json={"domain": "bakery"}, stage="masterplan")
    recording.clear_checkpoint()
    texts = ["A" * 300, "A" * 300 + "B" * 200, "A" * 120 + "C" * 50, "A" * 120 + "C" * 400]
    for text in texts:
        recording.checkpoint("masterplan", text)
        recording.pump()
    recording.checkpoint("masterplan", texts[-1] + "never stored")  # the process dies here
    _interrupt(db, generation_id)
    with db.session() as session:
        segments = session.scalars(
            select(GenerationCheckpoint.from_char).where(
                GenerationCheckpoint.generation_id == generation_id,
                GenerationCheckpoint.stage == "masterplan",
            )
        ).all()
    assert sorted(segments) == [0, 120, 170, 300]  # the new part only, each time
    _, resume, _ = GenerationStore(db).reopen(generation_id)
    assert resume.stage_text == texts[-1]
    assert resume.positions.checkpoint is not None
    assert resume.positions.checkpoint.text == texts[-1]


def test_the_heartbeat_moves_when_it_is_due_and_only_then(
    db: Database, generation_id: uuid.UUID
) -> None:
    now = [datetime(2026, 12, 1, 12, 0, 0)]
    clock = [100.0]
    recording = _by_hand(
        db, generation_id, heartbeat_interval_s=2.0, clock=lambda: clock[0], now=lambda: now[0]
    )

    def heartbeat() -> datetime:
        with db.session() as session:
            return session.get(Generation, generation_id).heartbeat_at

    before = heartbeat()
    recording.pump()
    assert recording.transactions == 0 and heartbeat() == before  # nothing due yet
    clock[0] += 2.0
    now[0] += timedelta(seconds=2)
    recording.pump()
    assert recording.transactions == 1 and heartbeat() == now[0]


def test_a_reopened_generation_continues_its_numbering(
    db: Database, generation_id: uuid.UUID
) -> None:
    published = []
    first = _by_hand(db, generation_id, publish=published.append)
    for i in range(10):
        first.add_chunk(attempt=1, stage="discovery", char_offset=i, chars=1, t_ms=i)
    first.record_attempt(
        AttemptRecord(1, "stream", 0, 10), number=1, stage="discovery", start_ms=0, end_ms=10
    )
    first.emit(TokensProgress(tokens_received=1))
    first.checkpoint("discovery", "0123456789")
    first.close(status=GenerationStatus.INTERRUPTED)
    store = GenerationStore(db)
    spec, resume, lease = store.reopen(generation_id)
    second = store.recording(
        spec, lease=lease, resume=resume, background=False, publish=published.append
    )
    assert (second.next_chunk_seq, second.next_attempt_number) == (11, 2)
    assert resume.stage_text == "0123456789"
    second.add_chunk(attempt=2, stage="discovery", char_offset=10, chars=1, t_ms=20)
    second.emit(TokensProgress(tokens_received=2))
    second.checkpoint("discovery", "0123456789A")
    second.close(status=GenerationStatus.COMPLETED)
    assert [message.seq for message in published] == [1, 2]
    assert _chunk_seqs(db, generation_id) == list(range(1, 12))
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(GenerationAttempt)) == 1
        texts = session.scalars(
            select(GenerationCheckpoint.text).order_by(GenerationCheckpoint.seq)
        ).all()
    assert texts == ["0123456789", "A"]


def test_completion_is_one_transaction_with_the_rows_and_the_terminal_event_given(
    db: Database, generation_id: uuid.UUID
) -> None:
    """The last rows, the terminal event, `write` and the final values land together, or
    nothing of them: whoever reads the terminal event stored reads the status with it."""
    recording = _by_hand(db, generation_id)
    recording.add_chunk(attempt=1, stage="masterplan", char_offset=0, chars=5, t_ms=1)

    def broken(conn) -> None:  # noqa: ANN001
        conn.execute(select(func.count()).select_from(User))
        raise RuntimeError("the plan would not fit")

    complete = GenerationComplete(project_name="Bakery")
    with pytest.raises(RecordingError, match="the plan would not fit"):
        recording.close(write=broken, events=(complete,), status=GenerationStatus.COMPLETED)
    assert _chunk_seqs(db, generation_id) == []
    with db.session() as session:
        assert session.get(Generation, generation_id).status == GenerationStatus.RUNNING
        assert session.scalar(select(func.count()).select_from(GenerationEvent)) == 0
    failed = GenerationError(message="the plan could not be stored")
    recording.close(events=(failed,), status=GenerationStatus.FAILED, error=failed.message)
    assert _chunk_seqs(db, generation_id) == [1]
    with db.session() as session:
        assert session.get(Generation, generation_id).status == GenerationStatus.FAILED
        names = session.scalars(select(GenerationEvent.name).order_by(GenerationEvent.seq))
        assert list(names) == [GenerationComplete.name, GenerationError.name]


def test_postgresql_batches_hold_no_connection_between_them_and_outlive_losing_them(
    postgres: Database,
) -> None:
    """A connection per batch, given back at once (issue 15: 34 generations each holding
    one wedged a process); connections dropped by the server are replaced, nothing lost."""
    generation_id = stored_generation(postgres)
    pool = postgres.engine.pool
    recording = Recording(postgres, generation_id, flush_interval_s=0.02)
    for i in range(50):
        recording.add_chunk(attempt=1, stage="discovery", char_offset=i, chars=1, t_ms=i)
    recording.flush()
    assert pool.checkedout() == 0
    with psycopg.connect(postgres.url.replace("postgresql+psycopg://", "postgresql://")) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    for i in range(50, 120):
        recording.add_chunk(attempt=1, stage="discovery", char_offset=i, chars=1, t_ms=i)
    recording.flush(timeout_s=20)
    recording.close(status=GenerationStatus.COMPLETED)
    assert _chunk_seqs(postgres, generation_id) == list(range(1, 121))
    assert pool.checkedout() == 0
