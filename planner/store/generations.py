"""`GenerationStore`: everything a generation writes and reads, on one Database.

Creating the row, the recording while it runs (`recording()`: chunks, events,
attempts, checkpoint, heartbeat, the discovery document and the saved plan), reading
what is stored (`load()`), reopening an interrupted one for a resume (`reopen()`,
`planner.store.reopen`), and the liveness scan that marks generations whose process
died (`mark_interrupted()`, `planner.store.liveness`). The generator above it knows
nothing of tables or transactions; the store knows nothing of plans (it is handed rows).
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from planner.config import get_settings
from planner.db import Database, Generation, MasterPlanRow, User, utcnow
from planner.events import EventMessage
from planner.store import lease, liveness, reopen
from planner.store.errors import GenerationNotFound, GenerationNotResumable
from planner.store.lease import Lease
from planner.store.pending import RowWrite
from planner.store.recording import Recording
from planner.store.spec import GenerationSpec, ResumePoint, StoredGeneration, stored_generation
from planner.store.status import LIVE_STATUSES, GenerationStatus, move


class GenerationStore:
    """The generations of one database."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._scanned = False
        self._scan_lock = threading.Lock()

    def prepare(self) -> list[uuid.UUID]:
        """What a process does on start: migrate if needed, and (once per store) mark the
        generations of dead processes `interrupted`; returns those ids."""
        self.db.ensure_schema()
        with self._scan_lock:
            if self._scanned:
                return []
            interrupted = self.mark_interrupted()
            self._scanned = True
            return interrupted

    def mark_interrupted(
        self,
        *,
        stale_after_s: float = liveness.STALE_AFTER_S,
        publish: Callable[[EventMessage], None] | None = None,
    ) -> list[uuid.UUID]:
        """Mark every generation whose runner is gone `interrupted` (its event stored, then
        given to `publish`); returns their ids."""
        return liveness.mark_interrupted(self.db, stale_after_s=stale_after_s, publish=publish)

    def hand_off(
        self,
        generation_id: uuid.UUID,
        *,
        publish: Callable[[EventMessage], None] | None = None,
        reason: str = liveness.HANDED_OFF_REASON,
    ) -> bool:
        """Interrupt a generation this process runs, at once (its process shuts down)."""
        return liveness.hand_off(self.db, generation_id, publish=publish, reason=reason)

    # -- creating -----------------------------------------------------------------------
    def user_exists(self, user_id: uuid.UUID) -> bool:
        return self.db.read(
            lambda conn: conn.scalar(select(func.count()).where(User.id == user_id)) == 1
        )

    def count_active(self, user_id: uuid.UUID) -> int:
        """The user's generations that are queued or running, on every node."""
        active = (GenerationStatus.QUEUED, GenerationStatus.RUNNING)
        return self.db.read(
            lambda conn: conn.scalar(
                select(func.count())
                .select_from(Generation)
                .where(Generation.user_id == user_id, Generation.status.in_(active))
            )
        )

    def create(
        self,
        *,
        user_id: uuid.UUID,
        description: str,
        strategy: str,
        fault_spec: str,
        model: str,
        seed: int,
        speed: float,
        settings: dict[str, Any] | None = None,
        status: GenerationStatus = GenerationStatus.RUNNING,
        also: RowWrite | None = None,
        owned: bool = True,
        generation_id: uuid.UUID | None = None,
    ) -> GenerationSpec:
        """The generation's row (and its unclaimed lease), written before anything else
        happens; `also(conn)` runs in the same transaction (e.g. enqueue its job).
        `owned=False`: no process owns it until a runner starts it (a job waiting for a
        worker; this process may end meanwhile)."""
        now = utcnow()
        spec = GenerationSpec(
            generation_id=generation_id or uuid.uuid4(),
            user_id=user_id,
            description=description,
            strategy=strategy,
            faults=fault_spec,
            model=model,
            seed=seed,
            speed=speed,
            started_at=now,
            settings=settings,
        )
        row = {
            "id": spec.generation_id,
            "user_id": user_id,
            "description": description,
            "strategy": strategy,
            "fault_spec": fault_spec,
            "model": model,
            "seed": seed,
            "speed": speed,
            "settings": settings,
            "status": status,
            "stage": "discovery",
            "created_at": now,
            "started_at": now,
            "heartbeat_at": now,
            "owner_pid": os.getpid() if owned else None,
            "owner_host": socket.gethostname() if owned else None,
        }

        def write(conn: Connection) -> None:
            conn.execute(insert(Generation), [row])
            lease.create(conn, spec.generation_id)
            if also is not None:
                also(conn)

        self.db.transaction(write)
        return spec

    def start(self, generation_id: uuid.UUID, *, job_id: int | None = None) -> Lease:
        """Claim a new (queued or just created) generation for this process: a new lease
        and the row `running`. GenerationNotResumable if it is past that (ran elsewhere)."""
        ttl_s = get_settings().lease_ttl_s

        def claim(conn: Connection) -> Lease:
            if not move(
                conn,
                generation_id,
                LIVE_STATUSES,
                status=GenerationStatus.RUNNING,
                heartbeat_at=utcnow(),
                owner_pid=os.getpid(),
                owner_host=socket.gethostname(),
            ):
                status = conn.scalar(
                    select(Generation.status).where(Generation.id == generation_id)
                )
                if status is None:
                    raise GenerationNotFound(f"no generation {generation_id}")
                raise GenerationNotResumable(
                    f"generation {generation_id} is {status}; it is not started again"
                )
            return lease.take(conn, generation_id, ttl_s=ttl_s, now=utcnow(), job_id=job_id)

        return self.db.transaction(claim)

    def request_cancel(self, generation_id: uuid.UUID) -> None:
        """Ask whichever process runs the generation to stop, at its next write."""
        self.db.transaction(lambda conn: lease.request_cancel(conn, generation_id))

    def clear_cancel(self, generation_id: uuid.UUID) -> None:
        """A new request to run it (a resume): an old cancel no longer applies."""
        self.db.transaction(lambda conn: lease.request_cancel(conn, generation_id, False))

    def cancel_queued(self, generation_id: uuid.UUID) -> bool:
        """End a generation no runner has started (`queued`, never claimed) as cancelled,
        with its terminal event; False if a runner has it (it stops at its next write)."""
        return self.db.transaction(lambda conn: liveness.cancel_unclaimed(conn, generation_id))

    # -- running ------------------------------------------------------------------------
    def recording(
        self,
        spec: GenerationSpec,
        *,
        lease: Lease,
        resume: ResumePoint | None = None,
        publish: Callable[[EventMessage], None] | None = None,
        **options: Any,
    ) -> Recording:
        """Start recording the generation (a new one, or one `reopen` gave back) under
        `lease` (`start` or `reopen` took it).

        Its events go to `publish` (e.g. `EventBus.publish`) once stored; `options`
        tune the writer (`Recording`'s keyword arguments).
        """
        positions = resume.positions if resume is not None else None
        options.setdefault("heartbeat_interval_s", get_settings().heartbeat_s)
        return Recording(
            self.db,
            spec.generation_id,
            positions=positions,
            publish=publish,
            lease=lease,
            **options,
        )

    def reopen(
        self, generation_id: uuid.UUID, *, job_id: int | None = None
    ) -> tuple[GenerationSpec, ResumePoint, Lease]:
        """Claim an interrupted generation for this process (a new lease) and say where
        it continues."""
        ttl_s = get_settings().lease_ttl_s
        return self.db.transaction(
            lambda conn: reopen.claim(conn, generation_id, ttl_s=ttl_s, job_id=job_id)
        )

    def finish_saved(self, generation_id: uuid.UUID) -> None:
        """The plan was saved but the process died before the row said so."""
        self.db.transaction(
            lambda conn: conn.execute(
                update(Generation)
                .where(Generation.id == generation_id)
                .values(status=GenerationStatus.COMPLETED, error=None, finished_at=utcnow())
            )
        )

    # -- reading ------------------------------------------------------------------------
    def load(self, generation_id: uuid.UUID) -> StoredGeneration:
        """The stored generation (finished or not); GenerationNotFound if there is none."""
        return self.db.read(lambda conn: _load(conn, generation_id))


def _load(conn: Connection, generation_id: uuid.UUID) -> StoredGeneration:
    row = conn.execute(select(Generation).where(Generation.id == generation_id)).first()
    if row is None:
        raise GenerationNotFound(f"no generation {generation_id}")
    stored = stored_generation(row)
    if row.masterplan_id is None:
        return stored
    plan = conn.execute(
        select(
            MasterPlanRow.total_phases,
            MasterPlanRow.total_milestones,
            MasterPlanRow.total_tasks,
            MasterPlanRow.total_subtasks,
        ).where(MasterPlanRow.id == row.masterplan_id)
    ).first()
    if plan is None:
        return stored
    counts = dict(zip(("phases", "milestones", "tasks", "subtasks"), plan, strict=True))
    return StoredGeneration(**{**stored.__dict__, "plan_counts": counts})
