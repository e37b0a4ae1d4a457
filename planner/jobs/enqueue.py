"""Enqueuing generations and experiments as jobs, in the transaction that writes them.

`enqueue_generation` writes the generation's row (`queued`, owned by no process) and
defers its job on the same connection, in one transaction; `enqueue_experiment` does
the same for an experiment, its runs, each run's generation and each run's job (a
contender's run has no generation: its job carries its request). Each
job carries a queueing lock (one waiting job per generation), so a resume asked twice
queues once. `cancel_job` asks Procrastinate to abort the job that runs a generation;
the generation's own cancel flag (`GenerationStore.request_cancel`) is what the runner
obeys at its next write, whichever process it is in.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from procrastinate import App
from procrastinate.exceptions import AlreadyEnqueued
from sqlalchemy import Connection, select, update

from planner.contenders import CONTENDER, kind_of
from planner.db import Database, ExperimentRun, Generation, GenerationLease, utcnow
from planner.experiments import (
    ExperimentConfig,
    contender_request,
    create_rows,
    plan_runs,
    run_request,
)
from planner.jobs.queues import (
    RUN_CONTENDER_RUN,
    RUN_EXPERIMENT_RUN,
    RUN_GENERATION,
    TASK_QUEUES,
)
from planner.plan.request import GenerationRequest
from planner.plan.runner import create
from planner.store import GenerationStatus, GenerationStore
from planner.store.lease import set_job

log = logging.getLogger(__name__)


def driver_connection(conn: Connection) -> Any:
    """The psycopg connection under a SQLAlchemy one (to defer in its transaction)."""
    return conn.connection.driver_connection


def _lock(generation_id: uuid.UUID) -> str:
    return f"generation:{generation_id}"


def contender_lock(run_id: uuid.UUID) -> str:
    """The queueing lock of a contender run's job (one waiting job per run)."""
    return f"run:{run_id}"


def _defer(
    app: App, conn: Connection, task: str, lock: str, **arguments: str | float
) -> int | None:
    """Defer `task` in `conn`'s transaction; None if a job with `lock` is already waiting."""
    try:
        return app.configure_task(
            name=task,
            queue=TASK_QUEUES[task],
            connection=driver_connection(conn),
            queueing_lock=lock,
        ).defer(**arguments)
    except AlreadyEnqueued:
        return None


def enqueue_generation(db: Database, app: App, request: GenerationRequest) -> uuid.UUID:
    """Store the generation `queued` and its job, together; GenerationRequestError for
    bad input. Any worker runs it."""
    generation_id = uuid.uuid4()

    def with_job(conn: Connection) -> None:
        job_id = _defer(
            app, conn, RUN_GENERATION, _lock(generation_id), generation_id=str(generation_id)
        )
        if job_id is not None:
            set_job(conn, generation_id, job_id)

    create(
        GenerationStore(db),
        request,
        status=GenerationStatus.QUEUED,
        also=with_job,
        owned=False,
        generation_id=generation_id,
    )
    return generation_id


def resume_job(db: Database, app: App, generation_id: uuid.UUID) -> bool:
    """Enqueue the job that runs whatever the generation needs now (a resume of an
    interrupted one, the start of a stranded queued one): its experiment run's job if it
    belongs to one (so the run's outcome is stored), else a generation job."""

    def write(conn: Connection) -> bool:
        run_id = conn.scalar(
            select(ExperimentRun.id).where(ExperimentRun.generation_id == generation_id)
        )
        if run_id is not None:
            job_id = _defer(app, conn, RUN_EXPERIMENT_RUN, _lock(generation_id), run_id=str(run_id))
        else:
            job_id = _defer(
                app, conn, RUN_GENERATION, _lock(generation_id), generation_id=str(generation_id)
            )
        if job_id is not None:
            set_job(conn, generation_id, job_id)
        return job_id is not None

    return db.transaction(write)


def requeue_stranded(db: Database, app: App, *, older_than_s: float) -> list[uuid.UUID]:
    """Give a new job to every generation still `queued` after `older_than_s`: a worker
    that died (or froze) between fetching its job and claiming the generation leaves the
    job `doing` and the generation queued with nothing to find it. A generation whose job
    still waits is left alone (its job holds the queueing lock, so no second one is
    deferred); one whose job was only slow to claim gets a harmless duplicate, which finds
    it running and leaves it. Returns the generations given a job."""
    cutoff = utcnow() - timedelta(seconds=older_than_s)
    queued = db.read(
        lambda conn: conn.scalars(
            select(Generation.id).where(
                Generation.status == GenerationStatus.QUEUED, Generation.created_at < cutoff
            )
        ).all()
    )
    return _give_jobs(db, app, queued, "queued with no live job")


def _give_jobs(
    db: Database, app: App, generation_ids: Sequence[uuid.UUID], why: str
) -> list[uuid.UUID]:
    """A new job for each generation (`resume_job`); the ones actually given one."""
    given = []
    for generation_id in generation_ids:
        if resume_job(db, app, generation_id):
            log.warning("generation %s: %s; given a new job", generation_id, why)
            given.append(generation_id)
    return given


def requeue_unrecorded_runs(db: Database, app: App, *, older_than_s: float) -> list[uuid.UUID]:
    """Give a new job to every experiment run still `running` whose generation ended
    (completed or failed) more than `older_than_s` ago: a worker that died between
    finishing the generation and storing the run's outcome leaves nothing to find the
    run, since its generation holds no lease to expire, and the experiment would never
    close. The new job finds the generation finished, stores the run's outcome and, for
    the last run, closes the experiment. Returns the generations given a job."""
    cutoff = utcnow() - timedelta(seconds=older_than_s)
    ended = db.read(
        lambda conn: conn.scalars(
            select(Generation.id)
            .join(ExperimentRun, ExperimentRun.generation_id == Generation.id)
            .where(
                ExperimentRun.status == "running",
                Generation.status.in_((GenerationStatus.COMPLETED, GenerationStatus.FAILED)),
                Generation.finished_at < cutoff,
            )
        ).all()
    )
    return _give_jobs(db, app, ended, "ended with its experiment run unrecorded")


def enqueue_experiment(
    db: Database, app: App, config: ExperimentConfig, user_id: uuid.UUID
) -> tuple[uuid.UUID, int]:
    """Store the experiment, its runs, their generations (`queued`) and one job per run,
    in one transaction after the experiment's rows; returns (experiment id, runs).

    A strategy's run is a generation, run by its job like any other. A contender's run has
    no generation: its job carries what the run asks (description, model, speed) and runs
    the contender's two requests on the worker (`planner.jobs.running.run_contender_run`);
    the simulator counts each run's requests under its own run key, so runs sharing a
    worker's simulator do not mix their counts."""
    config = config.validated(db)
    runs = plan_runs(config)
    experiment_id = create_rows(db, config, runs, user_id)
    store = GenerationStore(db)
    asked = contender_request(config)
    for run in runs:
        if kind_of(run.strategy) == CONTENDER:
            # The run stays `pending` until its job starts it (`run_contender_run`), so a
            # stop can tell the runs no worker has begun.
            def contender_job(conn: Connection, run_id: uuid.UUID = run.run_id) -> None:
                lock = contender_lock(run_id)
                _defer(app, conn, RUN_CONTENDER_RUN, lock, run_id=str(run_id), **asked)

            db.transaction(contender_job)
            continue
        gid = uuid.uuid4()

        def with_job(
            conn: Connection, run_id: uuid.UUID = run.run_id, gid: uuid.UUID = gid
        ) -> None:
            conn.execute(
                update(ExperimentRun)
                .where(ExperimentRun.id == run_id)
                .values(generation_id=gid, status="running")
            )
            job_id = _defer(app, conn, RUN_EXPERIMENT_RUN, _lock(gid), run_id=str(run_id))
            if job_id is not None:
                set_job(conn, gid, job_id)

        create(
            store,
            run_request(config, run, user_id),
            status=GenerationStatus.QUEUED,
            also=with_job,
            owned=False,
            generation_id=gid,
        )
    return experiment_id, len(runs)


def cancel_job(db: Database, app: App, generation_id: uuid.UUID) -> bool:
    """Ask Procrastinate to abort (or, if waiting, cancel) the generation's job."""

    def cancel(conn: Connection) -> bool:
        job_id = conn.scalar(
            select(GenerationLease.job_id).where(GenerationLease.generation_id == generation_id)
        )
        if job_id is None:
            return False
        return app.job_manager.cancel_job_by_id(
            job_id, abort=True, connection=driver_connection(conn)
        )

    return db.transaction(cancel)
