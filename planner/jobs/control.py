"""Resume and cancel from anywhere, for a generation's owner.

`resume_generation(db, id, user)` continues an interrupted generation: as a job any
worker runs (PostgreSQL), or on the caller's `GenerationService` (DuckDB, one machine).
`cancel_generation(db, id, user)` stops a queued or running one whichever process runs
it: the cancel flag in the database (the runner reads it at its next write or
heartbeat), the caller's own service at once if it runs there, and Procrastinate's
abort for its job; a job still waiting is cancelled and its generation ends `failed` at
once. Unknown and foreign ids get the same GenerationNotFound.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from planner.db import Database
from planner.jobs.app import JobsUnavailable, make_app, uses_jobs
from planner.jobs.enqueue import cancel_job, enqueue_generation, resume_job
from planner.plan.request import GenerationRequest
from planner.plan.service import GenerationService
from planner.store import (
    LIVE_STATUSES,
    GenerationNotFound,
    GenerationNotResumable,
    GenerationStatus,
    GenerationStore,
    StoredGeneration,
)


def enqueuer(db: Database) -> Callable[[GenerationRequest], uuid.UUID]:
    """`GenerationService(enqueue=...)`: starts become jobs on this database."""
    app = make_app(db)
    return lambda request: enqueue_generation(db, app, request)


def _owned(db: Database, generation_id: uuid.UUID, user_id: uuid.UUID) -> StoredGeneration:
    stored = GenerationStore(db).load(generation_id) if _exists(db, generation_id) else None
    if stored is None or stored.spec.user_id != user_id:
        raise GenerationNotFound(f"you have no generation {generation_id}")
    return stored


def _exists(db: Database, generation_id: uuid.UUID) -> bool:
    try:
        GenerationStore(db).load(generation_id)
    except GenerationNotFound:
        return False
    return True


def resume_generation(
    db: Database,
    generation_id: uuid.UUID,
    user_id: uuid.UUID,
    *,
    service: GenerationService | None = None,
) -> uuid.UUID:
    """Queue the resume of the user's interrupted generation; GenerationNotResumable
    (with the reason) when it is queued, running elsewhere or finished."""
    stored = _owned(db, generation_id, user_id)
    if stored.status != GenerationStatus.INTERRUPTED:
        where = "" if stored.status not in LIVE_STATUSES else " (queued or running elsewhere)"
        raise GenerationNotResumable(
            f"generation {generation_id} is {stored.status}{where}; "
            "only interrupted generations can be resumed"
        )
    GenerationStore(db).clear_cancel(generation_id)
    if uses_jobs(db):
        resume_job(db, make_app(db), generation_id)
    elif service is not None:
        service.resume(generation_id)
    else:
        raise JobsUnavailable(
            "with DuckDB a resume runs in a planner process: use `planner resume` or the dashboard"
        )
    return generation_id


def cancel_generation(
    db: Database,
    generation_id: uuid.UUID,
    user_id: uuid.UUID,
    *,
    service: GenerationService | None = None,
) -> bool:
    """Ask the user's queued or running generation to stop, wherever it runs; False if it
    had already ended."""
    stored = _owned(db, generation_id, user_id)
    if stored.status not in LIVE_STATUSES:
        return False
    store = GenerationStore(db)
    store.request_cancel(generation_id)
    if service is not None:
        service.cancel(generation_id)
    if uses_jobs(db):
        app = make_app(db)
        cancel_job(db, app, generation_id)
        store.cancel_queued(generation_id)
    return True
