"""Which running generations lost their runner, and marking them `interrupted`.

A runner renews its lease (`planner.store.lease`) with every write and at least every
heartbeat. The sweep (`mark_interrupted`, run periodically by workers and long-lived
processes, and once on start by the CLI) interrupts a `running` generation when its lease
expired (whatever its host), when its owner process is gone from this host, or, for a
generation that never held a lease, when its heartbeat is older than `stale_after_s`. A
`queued` one is interrupted only when the process whose in-process queue held it is gone;
a generation queued as a job has no owner process and waits for a worker.

Interrupting is one transaction per generation: a new lease epoch (so the old runner, if
it was only paused, writes nothing more), the status, and the stored
`masterplan_generation_interrupted` event with the next seq; the event is published after
the commit. Generations this process is running itself (`claim`ed, a process-wide set
whichever Database they use) are never touched.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, insert, select

from planner.db import Database, Generation, GenerationEvent, GenerationLease, utcnow
from planner.events import Event, EventMessage, GenerationError, GenerationInterrupted
from planner.store.lease import fence
from planner.store.status import LIVE_STATUSES, GenerationStatus, move

STALE_AFTER_S = 60.0
INTERRUPTED_MESSAGE = "the process running it stopped; continue with `planner resume {id}`"
SWEEPER = "sweep"
INTERRUPTED_REASON = "the process running it stopped"
HANDED_OFF_REASON = "the worker running it is shutting down"
SHUTDOWN_REASON = "the process running it is shutting down"  # a server's own generations
# The generator's own words for a cancel (planner.plan.spec.CANCELLED_MESSAGE).
CANCELLED = "cancelled before it finished"

_local_lock = threading.Lock()
_local: Counter[uuid.UUID] = Counter()  # nested holds (a resume inside a job's run) count


def claim(generation_id: uuid.UUID) -> None:
    """This process is running the generation now."""
    with _local_lock:
        _local[generation_id] += 1


def release(generation_id: uuid.UUID) -> None:
    with _local_lock:
        _local[generation_id] -= 1
        if _local[generation_id] <= 0:
            del _local[generation_id]


@contextmanager
def held_here(generation_id: uuid.UUID) -> Iterator[None]:
    """Mark the generation as this process's *before* its lease is taken in the database:
    the lease names this process as its owner, and a sweep of this same process that saw
    that owner with the generation not yet marked here would take it for a dead runner's."""
    claim(generation_id)
    try:
        yield
    finally:
        release(generation_id)


def running_here() -> set[uuid.UUID]:
    with _local_lock:
        return set(_local)


def process_alive(pid: int) -> bool:
    """Whether `pid` is a live (not zombie) process on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    try:
        state = stat.read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in {"Z", "X"}


def owner_gone(owner_pid: int | None, owner_host: str | None, generation_id: uuid.UUID) -> bool:
    """True when the owning process is known to be dead (only decidable on its host)."""
    if owner_pid is None or owner_host != socket.gethostname():
        return False
    if owner_pid == os.getpid():
        return generation_id not in running_here()
    return not process_alive(owner_pid)


def _abandoned(row: Any, now: Any, stale_before: Any) -> bool:
    if row.id in running_here():
        return False
    if owner_gone(row.owner_pid, row.owner_host, row.id):
        return True
    if row.status != GenerationStatus.RUNNING:
        return False
    if row.expires_at is not None:
        return row.expires_at < now
    return row.heartbeat_at < stale_before


def _store_event(conn: Connection, generation_id: uuid.UUID, event: Event) -> EventMessage:
    """Store `event` with the generation's next seq (in `conn`'s transaction)."""
    seq = (
        conn.scalar(
            select(func.max(GenerationEvent.seq)).where(
                GenerationEvent.generation_id == generation_id
            )
        )
        or 0
    ) + 1
    conn.execute(
        insert(GenerationEvent),
        [
            {
                "generation_id": generation_id,
                "seq": seq,
                "name": event.name,
                "payload": event.payload(),
                "created_at": utcnow(),
            }
        ],
    )
    return EventMessage(generation_id, seq, event.name, event.payload())


def cancel_unclaimed(conn: Connection, generation_id: uuid.UUID) -> bool:
    """A queued generation no runner ever claimed (epoch 0) ends `failed`, cancelled."""
    claimed = conn.scalar(
        select(GenerationLease.epoch).where(GenerationLease.generation_id == generation_id)
    )
    if claimed:
        return False
    if not move(
        conn,
        generation_id,
        (GenerationStatus.QUEUED,),
        status=GenerationStatus.FAILED,
        error=CANCELLED,
        finished_at=utcnow(),
    ):
        return False
    fence(conn, generation_id, 0, owner="cancel")
    _store_event(conn, generation_id, GenerationError(message=CANCELLED, tier=""))
    return True


class _NotInterrupted(Exception):
    """Its runner is alive after all, or the generation ended meanwhile."""


def _interrupt(
    db: Database,
    generation_id: uuid.UUID,
    epoch: int | None,
    reason: str = INTERRUPTED_REASON,
) -> EventMessage | None:
    """Fence the lease, mark the row, store the event, in one transaction. None, with
    nothing written, if its runner is alive after all or the generation ended between the
    caller's read and the fence: a finished generation keeps the lease of the runner that
    finished it."""

    def fence_and_mark(conn: Connection) -> EventMessage:
        if epoch is not None and not fence(conn, generation_id, epoch, owner=SWEEPER):
            raise _NotInterrupted
        if not move(
            conn,
            generation_id,
            LIVE_STATUSES,
            status=GenerationStatus.INTERRUPTED,
            error=INTERRUPTED_MESSAGE.format(id=generation_id),
            finished_at=utcnow(),
        ):
            raise _NotInterrupted  # rolls the fence back
        return _store_event(conn, generation_id, GenerationInterrupted(reason=reason))

    try:
        return db.transaction(fence_and_mark)
    except _NotInterrupted:
        return None


def hand_off(
    db: Database,
    generation_id: uuid.UUID,
    *,
    publish: Callable[[EventMessage], None] | None = None,
    reason: str = HANDED_OFF_REASON,
) -> bool:
    """Take a generation from its runner in this process, which is shutting down: fence its
    lease, mark it `interrupted` and store the event, as the sweep does for a dead runner,
    but at once. The runner stops at its next write (LeaseLost) and writes nothing more.
    False when it was no longer live (it finished first, or another claim took it)."""
    epoch = db.read(
        lambda conn: conn.scalar(
            select(GenerationLease.epoch).where(GenerationLease.generation_id == generation_id)
        )
    )
    message = _interrupt(db, generation_id, epoch, reason=reason)
    if message is None:
        return False
    if publish is not None:
        publish(message)
    return True


def mark_interrupted(
    db: Database,
    *,
    stale_after_s: float = STALE_AFTER_S,
    publish: Callable[[EventMessage], None] | None = None,
) -> list[uuid.UUID]:
    """Mark every abandoned generation `interrupted`; returns their ids (only those this
    call marked: of two sweepers, one wins each generation)."""
    now = utcnow()
    stale_before = now - timedelta(seconds=stale_after_s)
    rows = db.read(
        lambda conn: conn.execute(
            select(
                Generation.id,
                Generation.status,
                Generation.owner_pid,
                Generation.owner_host,
                Generation.heartbeat_at,
                GenerationLease.epoch,
                GenerationLease.expires_at,
            )
            .outerjoin(GenerationLease, GenerationLease.generation_id == Generation.id)
            .where(Generation.status.in_(LIVE_STATUSES))
        ).all()
    )
    marked = []
    for row in rows:
        if not _abandoned(row, now, stale_before):
            continue
        message = _interrupt(db, row.id, row.epoch)
        if message is None:
            continue
        marked.append(row.id)
        if publish is not None:
            publish(message)
    return marked
