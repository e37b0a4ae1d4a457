"""Which running generations lost their process, and marking them `interrupted`.

Every recording generation keeps `heartbeat_at` fresh and names its owner (pid and
host). On start, the CLI, the service and the dashboard scan (`GenerationStore.
mark_interrupted`): a `running` (or `queued`) generation is interrupted when its owner
process is gone from this host, or, whatever its host, when its heartbeat is older than
`stale_after_s`. Generations this process is running itself (`claim`ed, a process-wide
set whichever Database they use) are never touched.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Connection, select, update

from planner.db import Database, Generation, utcnow
from planner.store.status import LIVE_STATUSES, GenerationStatus

STALE_AFTER_S = 60.0
INTERRUPTED_MESSAGE = "the process running it stopped; continue with `planner resume {id}`"

_local_lock = threading.Lock()
_local: set[uuid.UUID] = set()


def claim(generation_id: uuid.UUID) -> None:
    """This process is running the generation now."""
    with _local_lock:
        _local.add(generation_id)


def release(generation_id: uuid.UUID) -> None:
    with _local_lock:
        _local.discard(generation_id)


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


def mark_interrupted(db: Database, *, stale_after_s: float = STALE_AFTER_S) -> list[uuid.UUID]:
    """Mark every abandoned generation `interrupted`; returns their ids."""
    stale_before = utcnow() - timedelta(seconds=stale_after_s)

    def scan(conn: Connection) -> list[uuid.UUID]:
        rows = conn.execute(
            select(
                Generation.id,
                Generation.owner_pid,
                Generation.owner_host,
                Generation.heartbeat_at,
            ).where(Generation.status.in_(LIVE_STATUSES))
        ).all()
        abandoned = [
            row.id
            for row in rows
            if row.id not in running_here()
            and (
                owner_gone(row.owner_pid, row.owner_host, row.id) or row.heartbeat_at < stale_before
            )
        ]
        for generation_id in abandoned:
            conn.execute(
                update(Generation)
                .where(Generation.id == generation_id)
                .where(Generation.status.in_(LIVE_STATUSES))
                .values(
                    status=GenerationStatus.INTERRUPTED,
                    error=INTERRUPTED_MESSAGE.format(id=generation_id),
                    finished_at=utcnow(),
                )
            )
        return abandoned

    return db.transaction(scan)
