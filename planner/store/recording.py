"""Recording one generation: its chunks, events, attempts, checkpoint and heartbeat.

The generation only hands things over (cheap, under a lock or none); one writer thread
per generation turns whatever has piled up into a single transaction: every pending
chunk and event in multi-row inserts, attempt upserts, the part of the newest checkpoint
that is new since the last batch (`checkpoints`), row values and the heartbeat. A
20,000-chunk generation costs a few dozen transactions, not 20,000. A failed write keeps
its rows and is retried on the next round, so nothing is lost; `flush()` waits until
everything handed over so far is stored.

Events come straight from the generator (`emit`): the recording numbers them gap-free
(continuing after the stored ones on a resume) and queues them for the next batch; they
are published on the event bus only once that batch is stored (`_publish`, the one place
an event leaves), so a client never sees a seq that a resume could number again.

Every batch is written under the runner's lease (`planner.store.lease`): a runner whose
generation was claimed by another (it was paused, or presumed dead) gets LeaseLost at its
next write and from then on at every hand-over: it writes nothing more. Each write renews
the lease; when there is nothing to write, a heartbeat batch renews it every
`heartbeat_interval_s`. A cancel asked from any process comes back with a renewal
(`on_cancel`). On PostgreSQL each batch takes a pooled connection for its statement only:
no connection is held for a generation's life.

`close()` stops the writer and stores the rest in the caller's thread, in one
transaction with the final row values (and, for a completed generation, the saved plan):
completion is one atomic step. Tests drive the writer by hand (`background=False`,
`pump()`), with the clock injected.

This is a library, not CLI code: the CLI, the dashboard, the Socket.IO endpoint and the
notebooks all record through it.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from planner.db import Database, GenerationAttempt, utcnow
from planner.errors import DatabaseError
from planner.events import Event, EventMessage
from planner.llm.types import AttemptRecord
from planner.store.batch import store_batch
from planner.store.checkpoints import CheckpointState, segment_between
from planner.store.chunkqueue import ChunkQueue
from planner.store.lease import Lease, LeaseLost
from planner.store.pending import Batch, Positions, RowWrite

log = logging.getLogger(__name__)

CHUNK_BATCH = 2000
FLUSH_INTERVAL_S = 0.5
# DuckDB: write less often than the Database's linger, so other processes get the file.
DUCKDB_FLUSH_INTERVAL_S = 2.0
HEARTBEAT_INTERVAL_S = 2.0
FLUSH_TIMEOUT_S = 60.0


_ATTEMPT_COLUMN_NAMES = frozenset(GenerationAttempt.__table__.c.keys())


class RecordingError(DatabaseError):
    """The recording could not store what it was given (the message says why)."""


class Recording:
    """Buffers one generation's record and writes it in batches on its own thread."""

    def __init__(
        self,
        db: Database,
        generation_id: uuid.UUID,
        *,
        positions: Positions | None = None,
        publish: Callable[[EventMessage], None] | None = None,
        lease: Lease | None = None,
        on_cancel: Callable[[], None] | None = None,
        chunk_batch: int = CHUNK_BATCH,
        flush_interval_s: float | None = None,
        heartbeat_interval_s: float = HEARTBEAT_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = utcnow,
        background: bool = True,
    ) -> None:
        positions = positions or Positions()
        self.db = db
        self.generation_id = generation_id
        self.chunk_batch = chunk_batch
        if flush_interval_s is None:
            flush_interval_s = DUCKDB_FLUSH_INTERVAL_S if db.is_duckdb else FLUSH_INTERVAL_S
        self.flush_interval_s = flush_interval_s
        self.heartbeat_interval_s = heartbeat_interval_s
        self._publish_to = publish
        self.lease = lease
        self._on_cancel = on_cancel
        self._lost: LeaseLost | None = None
        self._clock = clock
        self._now = now
        # PostgreSQL stores a batch in one statement (see batch.store_batch), atomic on its
        # own: the writer sends it on a connection of its own in autocommit mode, one
        # round trip instead of four (checkout ping, BEGIN, the batch, COMMIT).
        self._one_statement = not db.is_duckdb
        self._cond = threading.Condition()
        self._pending = Batch()
        self._chunks = ChunkQueue(positions.next_chunk_seq)
        self._next_event_seq = positions.next_event_seq
        self._next_checkpoint_seq = positions.next_checkpoint_seq
        self._stored_attempts = set(positions.stored_attempts)
        self._stored_checkpoint = positions.checkpoint
        self._newest_checkpoint = positions.checkpoint
        self._requested = 0
        self._written = 0
        self._stopping = False
        self._closed = False
        self._last_error: BaseException | None = None
        self._last_heartbeat = clock()
        self.transactions = 0
        self.chunks_written = 0
        self._thread: threading.Thread | None = None
        if background:
            self._thread = threading.Thread(
                target=self._run, name=f"recorder-{generation_id.hex[:8]}", daemon=True
            )
            self._thread.start()

    @property
    def next_chunk_seq(self) -> int:
        return self._chunks.next_seq

    @property
    def next_attempt_number(self) -> int:
        with self._cond:
            return max(self._stored_attempts | set(self._pending.attempts), default=0) + 1

    # -- what the generation hands over ----------------------------------------------
    def add_chunk(
        self, *, attempt: int, stage: str, char_offset: int, chars: int, t_ms: int
    ) -> int:
        """Queue one chunk; returns its generation-wide seq.

        Called for every chunk on the streaming thread, so it takes no lock (chunks come
        from one thread at a time, the generation's: see ChunkQueue). The writer is woken
        only at the batch threshold.
        """
        if self._lost is not None:
            raise self._lost
        chunks = self._chunks
        seq = chunks.add(attempt, stage, char_offset, chars, t_ms)
        if len(chunks) >= self.chunk_batch:
            with self._cond:
                self._cond.notify_all()
        return seq

    @property
    def lost(self) -> LeaseLost | None:
        """Why this runner must stop (its lease was taken), or None."""
        return self._lost

    def emit(self, event: Event) -> EventMessage:
        """Number the event (gap-free per generation) and queue it; it is published once
        stored."""
        if self._lost is not None:
            raise self._lost
        with self._cond:
            seq = self._next_event_seq
            self._next_event_seq = seq + 1
            message = EventMessage(self.generation_id, seq, event.name, event.payload())
            self._pending.events.append((seq, message.name, message.payload, self._now()))
        return message

    def _publish(self, batch: Batch) -> None:
        """The one place events leave the recording: after the batch storing them."""
        if self._publish_to is None:
            return
        for seq, name, payload, _ in batch.events:
            self._publish_to(EventMessage(self.generation_id, seq, name, payload))

    def record_attempt(
        self, record: AttemptRecord, *, number: int, stage: str, start_ms: int, end_ms: int | None
    ) -> None:
        """Insert or update attempt `number` (the generation-wide number).

        Only the fields `generation_attempts` has columns for are stored: the client may
        report more per attempt (issue 14: `http_status`, `rate_limit`, `thinking_tokens`,
        `max_tokens`, `decision`) than the schema holds yet."""
        values = {
            name: value for name, value in asdict(record).items() if name in _ATTEMPT_COLUMN_NAMES
        }
        values.update(number=number, stage=stage, start_ms=start_ms, end_ms=end_ms)
        values["ended_at"] = self._now() if end_ms is not None else None
        with self._cond:
            previous = self._pending.attempts.get(number, {})
            self._pending.attempts[number] = {**previous, **values}

    def checkpoint(self, stage: str, text: str) -> None:
        """The newest text of `stage`; a batch stores only what is new since the last one."""
        state = CheckpointState(stage, text)
        with self._cond:
            self._pending.checkpoint = self._newest_checkpoint = state
            self._pending.values.update(checkpoint_stage=stage, checkpoint_offset=len(text))

    def clear_checkpoint(self) -> None:
        """The stage whose checkpoint this was is done: the row shows no checkpoint."""
        with self._cond:
            self._pending.checkpoint = self._newest_checkpoint = None
            self._pending.values.update(
                checkpoint_stage=None, checkpoint_text=None, checkpoint_offset=0
            )

    def update(self, **values: Any) -> None:
        """Columns of the generation row, written with the next batch."""
        with self._cond:
            self._pending.values.update(values)

    def with_next_batch(self, write: RowWrite, **values: Any) -> None:
        """Run `write(conn)` in the next batch's transaction, and set `values` on the row.

        The values take their place among the row updates in the order they were handed
        over; the write commits together with them, so both land or neither does.
        """
        with self._cond:
            self._pending.values.update(values)
            self._pending.rows.append(write)

    # -- writing ----------------------------------------------------------------------
    def flush_soon(self) -> int:
        """Start writing what is pending now, without waiting for it.

        Returns a mark: `flush(through=mark)` waits for exactly that much to be stored.
        """
        with self._cond:
            self._requested += 1
            self._cond.notify_all()
            return self._requested

    def flush(self, timeout_s: float = FLUSH_TIMEOUT_S, *, through: int | None = None) -> None:
        """Block until everything handed over so far is stored (or up to mark `through`)."""
        if self._thread is None:
            self.pump()
            return
        with self._cond:
            if through is None:
                self._requested += 1
                target = self._requested
            else:
                target = through
            self._cond.notify_all()
            finished = self._cond.wait_for(
                lambda: self._written >= target or not self._thread.is_alive(), timeout_s
            )
            if self._lost is not None:
                raise self._lost
            if self._written < target:
                reason = self._last_error or ("timed out" if not finished else "writer stopped")
                raise RecordingError(
                    f"generation {self.generation_id}: recording could not be stored: {reason}"
                )

    def pump(self) -> bool:
        """Write one batch of what is pending now, in the caller's thread.

        The writer thread does this on its own; a recording made with `background=False`
        is driven by calling it. Returns whether the batch was stored (a failed one stays
        pending).
        """
        with self._cond:
            batch = self._take()
        return self._write_or_give_back(batch)

    def close(
        self,
        timeout_s: float = FLUSH_TIMEOUT_S,
        *,
        write: RowWrite | None = None,
        events: Sequence[Event] = (),
        **final: Any,
    ) -> None:
        """Stop the writer, then store the rest with `events` (the terminal one), `final`
        row values and `write` (e.g. the saved plan) in one transaction, in the caller's
        thread: whoever sees the terminal event stored sees the status that goes with it.

        If that fails, RecordingError, and everything but `write` stays pending: a
        second `close()` (with other final values) stores it.
        """
        if self._closed:
            raise RecordingError(f"generation {self.generation_id}: the recording is closed")
        self._stop_writer(timeout_s)
        if self._lost is not None:
            raise self._lost
        for event in events:
            self.emit(event)
        with self._cond:
            if self._newest_checkpoint is not None:
                final.setdefault("checkpoint_text", self._newest_checkpoint.text)
            self._pending.values.update(final)
            batch = self._take()
        try:
            self._write(batch, last=write)
        except LeaseLost as exc:
            self._lost = exc
            self._closed = True
            raise
        except Exception as exc:
            with self._cond:
                self._give_back(batch)
            raise RecordingError(
                f"generation {self.generation_id}: recording could not be stored: {exc}"
            ) from exc
        self._closed = True

    def abandon(self, timeout_s: float = FLUSH_TIMEOUT_S) -> None:
        """Stop the writer and write nothing more (the runner lost its lease)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout_s)
        self._closed = True

    def _stop_writer(self, timeout_s: float) -> None:
        """Let the writer finish the flushes already asked for (`flush_soon`: the last
        stream's rows, written while the answer was parsed), then stop it."""
        if self._thread is None:
            return
        with self._cond:
            target = self._requested
            self._cond.wait_for(
                lambda: self._written >= target or not self._thread.is_alive(), timeout_s
            )
            self._stopping = True
            self._cond.notify_all()
        self._thread.join(timeout_s)

    def _due(self) -> bool:
        return (
            self._requested > self._written
            or len(self._chunks) >= self.chunk_batch
            or self._stopping
        )

    def _run(self) -> None:
        wait_s = min(self.flush_interval_s, self.heartbeat_interval_s)
        while True:
            with self._cond:
                self._cond.wait_for(self._due, wait_s)
                if self._stopping or self._lost is not None:
                    return
                target = self._requested
                batch = self._take()
            if self._write_or_give_back(batch):
                with self._cond:
                    self._written = max(self._written, target)
                    self._cond.notify_all()
            else:
                with self._cond:
                    self._cond.wait_for(lambda: self._stopping, self.flush_interval_s)

    def _write_or_give_back(self, batch: Batch) -> bool:
        heartbeat_due = self._clock() - self._last_heartbeat >= self.heartbeat_interval_s
        if not batch and not heartbeat_due:
            return True
        try:
            self._write(batch)
        except LeaseLost as exc:
            log.warning("%s", exc)
            with self._cond:
                self._lost = exc
                self._cond.notify_all()
            return False
        except Exception as exc:
            log.exception("generation %s: recording write failed", self.generation_id)
            with self._cond:
                self._last_error = exc
                self._give_back(batch)
            return False
        with self._cond:
            self._last_error = None
        return True

    def _take(self) -> Batch:
        batch = self._pending
        batch.chunks = self._chunks.take()
        self._pending = Batch()
        return batch

    def _give_back(self, batch: Batch) -> None:
        """A failed write's rows go back in front of anything queued since."""
        if batch.chunks is not None:
            self._chunks.give_back(batch.chunks)
        pending = self._pending
        pending.events = batch.events + pending.events
        pending.attempts = {
            **batch.attempts,
            **{n: {**batch.attempts.get(n, {}), **v} for n, v in pending.attempts.items()},
        }
        pending.values = {**batch.values, **pending.values}
        pending.rows = batch.rows + pending.rows
        if pending.checkpoint is None and batch.checkpoint is not None:
            pending.checkpoint = batch.checkpoint

    def _write(self, batch: Batch, *, last: RowWrite | None = None) -> None:
        """One transaction: the batch, then `last` (written after the batch's own rows)."""
        taken = batch.chunks
        rows = [*batch.rows, last] if last is not None else batch.rows
        segment = segment_between(self._stored_checkpoint, batch.checkpoint)
        checkpoints = [(self._next_checkpoint_seq, *segment)] if segment is not None else []
        moment = self._now()
        values = {**batch.values, "heartbeat_at": moment}
        cancel = False

        def store(conn: Connection) -> None:
            nonlocal cancel
            cancel = store_batch(
                conn,
                self.generation_id,
                chunks=taken.runs if taken is not None else [],
                events=batch.events,
                attempts=list(batch.attempts.values()),
                stored_attempts=self._stored_attempts,
                checkpoints=checkpoints,
                values=values,
                lease=self.lease,
                now=moment,
            )

        def write() -> None:
            if self._one_statement and not rows:
                # One statement, atomic alone: autocommit on a connection for this batch.
                with contextlib.closing(self.db.autocommit()) as conn:
                    store(conn)
                return
            with self.db.begin() as conn:
                store(conn)
                for write_rows in rows:
                    write_rows(conn)

        with self.db.held():
            self.db.retry(write)
        self._last_heartbeat = self._clock()
        self._stored_attempts |= set(batch.attempts)
        if segment is not None:
            self._next_checkpoint_seq += 1
        if batch.checkpoint is not None:
            self._stored_checkpoint = batch.checkpoint
        self.transactions += 1
        if taken is not None:
            self._chunks.stored(taken)
            self.chunks_written += taken.count
        self._publish(batch)
        if cancel and self._on_cancel is not None:
            self._on_cancel()
