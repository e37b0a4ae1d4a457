"""Recording a generation: its row, attempts, chunks, events, checkpoint and heartbeat.

The generation only appends to in-memory buffers (cheap, under a lock); one writer thread
per generation turns whatever has piled up into a single transaction: every pending
chunk and event in multi-row inserts, attempt upserts, the newest checkpoint (older ones
are superseded, so they are never written) and the heartbeat. A 20,000-chunk generation
costs a few dozen transactions, not 20,000. A failed write keeps its rows and is retried
on the next round, so nothing is lost; `flush()` and `close()` wait until everything
handed over so far is stored.

This is a library, not CLI code: the CLI, the dashboard, the Socket.IO endpoint and the
notebooks all record through it.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from sqlalchemy import Connection, func, insert, select

from planner.config import get_settings
from planner.db import (
    Generation,
    GenerationAttempt,
    GenerationChunk,
    GenerationEvent,
    get_engine,
    is_duckdb,
    utcnow,
    with_lock_retry,
)
from planner.events import EventMessage
from planner.llm.types import AttemptRecord
from planner.plan.bulk import EventRow, store_batch
from planner.plan.chunkqueue import ChunkQueue, TakenChunks
from planner.plan.dbhold import held_open

log = logging.getLogger(__name__)

CHUNK_BATCH = 2000
FLUSH_INTERVAL_S = 0.5
# DuckDB: write less often than dbhold's linger, so other processes get the file between.
DUCKDB_FLUSH_INTERVAL_S = 2.0
HEARTBEAT_INTERVAL_S = 2.0
FLUSH_TIMEOUT_S = 60.0


class RecordingError(RuntimeError):
    """The recorder could not store what it was given (the message says why)."""


def create_generation(
    *,
    user_id: uuid.UUID,
    description: str,
    strategy: str,
    fault_spec: str,
    model: str,
    seed: int,
    speed: float,
    status: str = "running",
    database_url: str | None = None,
) -> uuid.UUID:
    """The generation's row, written before anything else happens."""
    generation_id = uuid.uuid4()
    now = utcnow()
    row = {
        "id": generation_id,
        "user_id": user_id,
        "description": description,
        "strategy": strategy,
        "fault_spec": fault_spec,
        "model": model,
        "seed": seed,
        "speed": speed,
        "status": status,
        "stage": "discovery",
        "created_at": now,
        "started_at": now,
        "heartbeat_at": now,
        "owner_pid": os.getpid(),
        "owner_host": socket.gethostname(),
    }

    def write() -> None:
        with get_engine(database_url).begin() as conn:
            conn.execute(insert(Generation), [row])

    with_lock_retry(write)
    return generation_id


class GenerationRecorder:
    """Buffers one generation's record and writes it in batches on its own thread."""

    def __init__(
        self,
        generation_id: uuid.UUID,
        *,
        database_url: str | None = None,
        chunk_batch: int = CHUNK_BATCH,
        flush_interval_s: float | None = None,
        heartbeat_interval_s: float = HEARTBEAT_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
        fresh: bool = False,
    ) -> None:
        """`fresh`: nothing is stored for the generation yet, numbering starts at 1."""
        self.generation_id = generation_id
        self.database_url = database_url
        self.chunk_batch = chunk_batch
        url = database_url or get_settings().database_url
        if flush_interval_s is None:
            flush_interval_s = DUCKDB_FLUSH_INTERVAL_S if is_duckdb(url) else FLUSH_INTERVAL_S
        # PostgreSQL stores a batch in one statement (see bulk.store_batch), atomic on its
        # own: the writer sends it on a connection of its own in autocommit mode, one
        # round trip instead of four (checkout ping, BEGIN, the batch, COMMIT).
        self._one_statement = not is_duckdb(url)
        self._autocommit: Connection | None = None
        self.flush_interval_s = flush_interval_s
        self.heartbeat_interval_s = heartbeat_interval_s
        self._clock = clock
        self._cond = threading.Condition()
        self._events: list[EventRow] = []
        self._attempts: dict[int, dict[str, Any]] = {}
        self._generation: dict[str, Any] = {}
        self._rows: list[Callable[[Connection], None]] = []
        self._requested = 0
        self._written = 0
        self._closing = False
        self._last_error: BaseException | None = None
        self._last_heartbeat = clock()
        self.transactions = 0
        self.chunks_written = 0
        if fresh:
            next_chunk_seq, self.next_event_seq, self._stored_attempts = 1, 1, set()
        else:
            next_chunk_seq, self.next_event_seq, self._stored_attempts = self._load_positions()
        self._chunks = ChunkQueue(next_chunk_seq)
        self._thread = threading.Thread(
            target=self._run, name=f"recorder-{generation_id.hex[:8]}", daemon=True
        )
        self._thread.start()

    def _load_positions(self) -> tuple[int, int, set[int]]:
        """Where a reopened generation's numbering continues."""

        def read() -> tuple[int, int, set[int]]:
            gid = self.generation_id
            with get_engine(self.database_url).connect() as conn:
                chunk = conn.scalar(
                    select(func.max(GenerationChunk.seq)).where(
                        GenerationChunk.generation_id == gid
                    )
                )
                event = conn.scalar(
                    select(func.max(GenerationEvent.seq)).where(
                        GenerationEvent.generation_id == gid
                    )
                )
                numbers = conn.scalars(
                    select(GenerationAttempt.number).where(GenerationAttempt.generation_id == gid)
                ).all()
            return (chunk or 0) + 1, (event or 0) + 1, set(numbers)

        return with_lock_retry(read)

    @property
    def next_chunk_seq(self) -> int:
        return self._chunks.next_seq

    @property
    def next_attempt_number(self) -> int:
        with self._cond:
            return max(self._stored_attempts | set(self._attempts), default=0) + 1

    # -- what the generation hands over ----------------------------------------------
    def add_chunk(
        self, *, attempt: int, stage: str, char_offset: int, chars: int, t_ms: int
    ) -> int:
        """Queue one chunk; returns its generation-wide seq.

        Called for every chunk on the streaming thread, so it takes no lock (chunks come
        from one thread at a time, the generation's: see ChunkQueue). The writer is woken
        only at the batch threshold.
        """
        chunks = self._chunks
        seq = chunks.add(attempt, stage, char_offset, chars, t_ms)
        if len(chunks) >= self.chunk_batch:
            with self._cond:
                self._cond.notify_all()
        return seq

    def on_event(self, message: EventMessage) -> None:
        """Bus subscriber: store every event of this generation under its bus seq."""
        with self._cond:
            if message.seq != self.next_event_seq:
                log.warning(
                    "generation %s: event seq %s arrived, %s expected",
                    self.generation_id,
                    message.seq,
                    self.next_event_seq,
                )
            self.next_event_seq = message.seq + 1
            self._events.append((message.seq, message.name, message.payload, utcnow()))

    def record_attempt(
        self, record: AttemptRecord, *, number: int, stage: str, start_ms: int, end_ms: int | None
    ) -> None:
        """Insert or update attempt `number` (the generation-wide number)."""
        values = asdict(record)
        values.update(number=number, stage=stage, start_ms=start_ms, end_ms=end_ms)
        values["ended_at"] = utcnow() if end_ms is not None else None
        with self._cond:
            previous = self._attempts.get(number, {})
            self._attempts[number] = {**previous, **values}

    def checkpoint(self, stage: str, text: str) -> None:
        """The newest text of `stage`; only the last one before a write is stored."""
        self.update(checkpoint_stage=stage, checkpoint_text=text, checkpoint_offset=len(text))

    def update(self, **values: Any) -> None:
        """Columns of the generation row, written with the next batch."""
        with self._cond:
            self._generation.update(values)

    def store_with_next_batch(self, write: Callable[[Connection], None], **values: Any) -> None:
        """Run `write(conn)` in the next batch's transaction, and set `values` on the row.

        The values take their place among the row updates in the order they were handed
        over; the write commits together with them, so both land or neither does.
        """
        with self._cond:
            self._generation.update(values)
            self._rows.append(write)

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
        """Block until everything handed over so far is stored.

        `through`: a mark of `flush_soon()`; wait only until what was pending when it
        was taken is stored (later rows may still be on their way).
        """
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
            if self._written < target:
                reason = self._last_error or ("timed out" if not finished else "writer stopped")
                raise RecordingError(
                    f"generation {self.generation_id}: recording could not be stored: {reason}"
                )

    def close(self, timeout_s: float = FLUSH_TIMEOUT_S, **final_values: Any) -> None:
        """Store everything (with `final_values` on the row) and stop the writer."""
        self.update(**final_values)
        try:
            self.flush(timeout_s)
        finally:
            with self._cond:
                self._closing = True
                self._cond.notify_all()
            self._thread.join(timeout_s)

    def _due(self) -> bool:
        return (
            self._requested > self._written
            or len(self._chunks) >= self.chunk_batch
            or self._closing
        )

    def _run(self) -> None:
        try:
            self._write_until_closed()
        finally:
            if self._autocommit is not None:
                self._autocommit.close()

    def _write_until_closed(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(self._due, self.flush_interval_s)
                if self._closing and self._requested <= self._written:
                    return
                target = self._requested
                batch = self._take()
            heartbeat = self._clock() - self._last_heartbeat >= self.heartbeat_interval_s
            if not any(batch.values()) and not heartbeat:
                with self._cond:
                    self._written = max(self._written, target)
                    self._cond.notify_all()
                continue
            try:
                self._write(batch)
            except Exception as exc:
                log.exception("generation %s: recording write failed", self.generation_id)
                with self._cond:
                    self._last_error = exc
                    self._give_back(batch)
                    self._cond.wait(self.flush_interval_s)
                continue
            self._last_heartbeat = self._clock()
            with self._cond:
                self._last_error = None
                self._written = max(self._written, target)
                self._cond.notify_all()

    def _take(self) -> dict[str, Any]:
        batch = {
            "chunks": self._chunks.take(),
            "events": self._events,
            "attempts": self._attempts,
            "generation": self._generation,
            "rows": self._rows,
        }
        self._events, self._attempts, self._generation = [], {}, {}
        self._rows = []
        return batch

    def _give_back(self, batch: dict[str, Any]) -> None:
        """A failed write's rows go back in front of anything queued since."""
        if batch["chunks"] is not None:
            self._chunks.give_back(batch["chunks"])
        self._events = batch["events"] + self._events
        self._attempts = {
            **batch["attempts"],
            **{n: {**batch["attempts"].get(n, {}), **v} for n, v in self._attempts.items()},
        }
        self._generation = {**batch["generation"], **self._generation}
        self._rows = batch["rows"] + self._rows

    def _write(self, batch: dict[str, Any]) -> None:
        gid = self.generation_id
        taken: TakenChunks | None = batch["chunks"]
        values = {**batch["generation"], "heartbeat_at": utcnow()}

        def store(conn: Connection) -> None:
            store_batch(
                conn,
                gid,
                chunks=taken.runs if taken is not None else [],
                events=batch["events"],
                attempts=list(batch["attempts"].values()),
                stored_attempts=self._stored_attempts,
                values=values,
            )

        def write() -> None:
            if self._one_statement and not batch["rows"]:
                self._store_autocommitted(store)
                return
            with get_engine(self.database_url).begin() as conn:
                store(conn)
                for write_rows in batch["rows"]:
                    write_rows(conn)

        with held_open(self.database_url or get_settings().database_url):
            with_lock_retry(write)
        self._stored_attempts = self._stored_attempts | set(batch["attempts"])
        self.transactions += 1
        if taken is not None:
            self._chunks.stored(taken)
            self.chunks_written += taken.count

    def _store_autocommitted(self, store: Callable[[Connection], None]) -> None:
        if self._autocommit is None:
            connection = get_engine(self.database_url).connect()
            self._autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
        try:
            store(self._autocommit)
        except BaseException:
            # Whatever went wrong, the next batch starts on a fresh connection.
            self._autocommit.close()
            self._autocommit = None
            raise
