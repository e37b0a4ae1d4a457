"""Resume and cancel from anywhere, for a generation's owner.

`resume_generation(db, id, user)` continues an interrupted generation: as a job any
worker runs (PostgreSQL), or on the caller's `GenerationService` (DuckDB, one machine).
`cancel_generation(db, id, user)` stops a queued or running one whichever process runs
it: the cancel flag in the database (the runner reads it at its next write or
heartbeat), the caller's own service at once if it runs there, and Procrastinate's
abort for its job; a job still waiting is cancelled and its generation ends `failed` at
once. Unknown and foreign ids get the same GenerationNotFound.

`stop_experiment(db, id, user)` stops an experiment on workers from any process: every
run no worker has begun is cancelled in the database (a job that starts later finds its
run ended and does nothing), those under way finish and are kept, and the last to end
closes the experiment `interrupted`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import NamedTuple

from sqlalchemy import Connection, select, update

from planner.db import Database, Experiment, ExperimentRun, GenerationLease
from planner.experiments import ExperimentNotFound
from planner.jobs.app import JobsUnavailable, make_app, uses_jobs
from planner.jobs.enqueue import (
    cancel_job,
    contender_lock,
    driver_connection,
    enqueue_generation,
    resume_job,
)
from planner.jobs.running import FINISHED_RUNS, close_if_last
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
from planner.store.liveness import cancel_unclaimed

STOPPED_RUN = "cancelled: the experiment was stopped before this run started"


def enqueuer(db: Database) -> Callable[[GenerationRequest], uuid.UUID]:
    """`GenerationService(enqueue=...)`: starts become jobs on this database."""
    app = make_app(db)
    return lambda request: enqueue_generation(db, app, request)


def _owned(db: Database, generation_id: uuid.UUID, user_id: uuid.UUID) -> StoredGeneration:
    """The user's generation; the same GenerationNotFound for unknown and foreign ids."""
    refusal = GenerationNotFound(f"you have no generation {generation_id}")
    try:
        stored = GenerationStore(db).load(generation_id)
    except GenerationNotFound:
        raise refusal from None
    if stored.spec.user_id != user_id:
        raise refusal
    return stored


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


class StoppedExperiment(NamedTuple):
    cancelled: int  # runs no worker had begun
    under_way: int  # runs that finish and are kept


def stop_experiment(
    db: Database, experiment_id: uuid.UUID, user_id: uuid.UUID
) -> StoppedExperiment:
    """Start none of the user's experiment's runs that no worker has begun. The runs under
    way finish and are kept; the last of them closes the experiment (`interrupted`), or
    this call does when none is under way.
    ExperimentNotFound for unknown and foreign ids alike; JobsUnavailable with DuckDB,
    where the experiment runs in the one process that started it (stop it there)."""
    owner = db.read(
        lambda conn: conn.scalar(select(Experiment.user_id).where(Experiment.id == experiment_id))
    )
    if owner is None or owner != user_id:
        raise ExperimentNotFound(f"you have no experiment {experiment_id}")
    if not uses_jobs(db):
        raise JobsUnavailable(
            "with DuckDB an experiment runs in the process that started it: stop it there "
            "(Ctrl-C in `planner experiment`, or Stop on the dashboard that started it)"
        )
    app = make_app(db)

    def cancel_unstarted(conn: Connection) -> tuple[dict[uuid.UUID, bool], int]:
        """The runs cancelled, each with whether it is a contender's; the runs left."""
        cancelled: dict[uuid.UUID, bool] = {}
        runs = conn.execute(
            select(ExperimentRun.id, ExperimentRun.generation_id, GenerationLease.job_id)
            .outerjoin(
                GenerationLease, GenerationLease.generation_id == ExperimentRun.generation_id
            )
            .where(ExperimentRun.experiment_id == experiment_id)
            .where(ExperimentRun.status.not_in(FINISHED_RUNS))
        ).all()
        for run in runs:
            if run.generation_id is not None:
                # A strategy's run: its generation, if no worker claimed it yet (the claim
                # and this cancel are the same guarded move: one of them wins).
                if not cancel_unclaimed(conn, run.generation_id):
                    continue
                if run.job_id is not None:
                    app.job_manager.cancel_job_by_id(run.job_id, connection=driver_connection(conn))
                started = ("pending", "running")
            else:
                started = ("pending",)  # a contender's job moves it to `running` as it starts
            ended = conn.scalar(
                update(ExperimentRun)
                .where(ExperimentRun.id == run.id, ExperimentRun.status.in_(started))
                .values(status="cancelled", error=STOPPED_RUN)
                .returning(ExperimentRun.id)
            )
            if ended is not None:
                cancelled[run.id] = run.generation_id is None
        return cancelled, len(runs) - len(cancelled)

    cancelled, under_way = db.transaction(cancel_unstarted)
    contenders = [run_id for run_id, contender in cancelled.items() if contender]
    if contenders:  # their jobs would find their runs ended; none is left waiting either
        with app.open():
            for run_id in contenders:
                for job in app.job_manager.list_jobs(
                    queueing_lock=contender_lock(run_id), status="todo"
                ):
                    app.job_manager.cancel_job_by_id(job.id)
    close_if_last(db, experiment_id)
    return StoppedExperiment(len(cancelled), under_way)
