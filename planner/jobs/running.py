"""What a job does, as library functions: run a stored generation, run an experiment's
run, sweep.

A job runs whatever its generation needs now: a `queued` one starts, an `interrupted`
one resumes from its checkpoint; one that is running elsewhere or finished is left to
its runner (a duplicate job is harmless). The sweep interrupts dead runners' generations
and, with auto-resume on, enqueues a new job for each: the resume runs on whichever
worker takes it. A new job per claim (rather than retrying the dead worker's stalled
job) keeps each job tied to one runner, so a paused worker that wakes up can only finish
its own job, never the one that replaced it.
"""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import timedelta
from typing import Any

from procrastinate import App
from sqlalchemy import Connection, and_, exists, or_, select, update

from planner.config import get_settings
from planner.db import Database, Experiment, ExperimentRun, Generation, utcnow
from planner.events import EventBus
from planner.experiment_cells import RunContext, execute_run
from planner.experiments import PlannedRun, finish_experiment, run_outcome, store_outcome
from planner.jobs import enqueue
from planner.plan.request import GenerationOutcome
from planner.plan.runner import execute, resume_generation
from planner.plan.sweep import Sweeper
from planner.store import (
    GenerationNotResumable,
    GenerationStatus,
    GenerationStore,
    LeaseLost,
)

log = logging.getLogger(__name__)

FINISHED_RUNS = ("completed", "failed", "error", "cancelled", "interrupted")
STALLED_CONTENDER_RUN = "the worker running this contender's run stopped before it ended"


def run_stored(
    db: Database,
    generation_id: uuid.UUID,
    *,
    bus: EventBus,
    cancel: threading.Event,
    job_id: int | None = None,
) -> GenerationOutcome | None:
    """Start or resume the generation here; None if another runner has it (or took it)."""
    store = GenerationStore(db)
    stored = store.load(generation_id)
    try:
        if stored.status == GenerationStatus.QUEUED:
            return execute(store, stored.spec, bus=bus, cancel=cancel, job_id=job_id)
        if stored.status == GenerationStatus.INTERRUPTED:
            return resume_generation(db, generation_id, bus=bus, cancel=cancel, job_id=job_id)
    except (LeaseLost, GenerationNotResumable) as exc:
        log.warning("generation %s: left to its current runner: %s", generation_id, exc)
        return None
    if stored.status == GenerationStatus.RUNNING:
        log.info("generation %s is running elsewhere; this job leaves it", generation_id)
        return None
    return GenerationOutcome.from_stored(stored)


def generation_of_run(db: Database, run_id: uuid.UUID) -> uuid.UUID | None:
    """The generation an experiment run made when it was enqueued."""
    return db.read(
        lambda conn: conn.scalar(
            select(ExperimentRun.generation_id).where(ExperimentRun.id == run_id)
        )
    )


def run_experiment_run(
    db: Database,
    run_id: uuid.UUID,
    *,
    bus: EventBus,
    cancel: threading.Event,
    job_id: int | None = None,
) -> None:
    """Run one experiment run's generation and store its outcome (once: a run already
    finished is left as it is); the last run to finish closes the experiment."""
    run = db.read(
        lambda conn: conn.execute(select(ExperimentRun).where(ExperimentRun.id == run_id)).one()
    )
    if run.status in FINISHED_RUNS or run.generation_id is None:
        return
    outcome = run_stored(db, run.generation_id, bus=bus, cancel=cancel, job_id=job_id)
    if outcome is None or outcome.status not in (
        GenerationStatus.COMPLETED,
        GenerationStatus.FAILED,
    ):
        return
    store_outcome(db, run_outcome(_planned(run), outcome))
    close_if_last(db, run.experiment_id)


def run_contender_run(
    db: Database, run_id: uuid.UUID, *, description: str, model: str, speed: float
) -> None:
    """Run one contender's run of an experiment here (its two requests) and store its
    outcome, judged with the rest when the experiment closes (once: a run already finished
    is left as it is); the last run to finish closes the experiment."""
    run = db.read(
        lambda conn: conn.execute(
            select(ExperimentRun, Experiment.user_id)
            .join(Experiment, Experiment.id == ExperimentRun.experiment_id)
            .where(ExperimentRun.id == run_id)
        ).first()
    )
    if run is None or run.status in FINISHED_RUNS:
        return
    claimed = db.transaction(  # from `pending`, once: a stopped experiment's run is not
        lambda conn: conn.scalar(
            update(ExperimentRun)
            .where(ExperimentRun.id == run_id, ExperimentRun.status == "pending")
            .values(status="running")
            .returning(ExperimentRun.id)
        )
    )
    if claimed is None:
        return
    context = RunContext(description=description, model=model, speed=speed, user_id=run.user_id)
    store_outcome(db, execute_run(GenerationStore(db), context, _planned(run)))
    close_if_last(db, run.experiment_id)


def _planned(run: Any) -> PlannedRun:
    """The run an `experiment_runs` row plans."""
    return PlannedRun(run.id, run.fault, run.strategy, run.repeat_index, run.seed)


def end_stalled_run_job(db: Database, run_id: uuid.UUID, *, contender: bool) -> None:
    """After an experiment run's job stalled (its worker died): a contender's run not yet
    finished is recorded as an `error` saying so (its two requests are not resumable, and
    run again they would not meet the same fault draws; a strategy's run is resumed by the
    sweep instead), and the experiment closed if no run is left (the dead worker may have
    stored the last outcome without closing it)."""

    def write(conn: Connection) -> uuid.UUID | None:
        if contender:
            ended = conn.scalar(
                update(ExperimentRun)
                .where(ExperimentRun.id == run_id, ExperimentRun.status.not_in(FINISHED_RUNS))
                .values(status="error", error=STALLED_CONTENDER_RUN)
                .returning(ExperimentRun.id)
            )
            if ended is not None:
                log.warning("contender run %s: its worker stopped; recorded as an error", run_id)
        return conn.scalar(select(ExperimentRun.experiment_id).where(ExperimentRun.id == run_id))

    experiment_id = db.transaction(write)
    if experiment_id is not None:
        close_if_last(db, experiment_id)


def close_if_last(db: Database, experiment_id: uuid.UUID) -> None:
    """Close the experiment (judging every run) once none of its runs is left to finish:
    `interrupted` if `stop_experiment` cancelled some, else `completed`."""
    statuses = set(
        db.read(
            lambda conn: conn.scalars(
                select(ExperimentRun.status)
                .where(ExperimentRun.experiment_id == experiment_id)
                .distinct()
            ).all()
        )
    )
    if statuses <= set(FINISHED_RUNS):
        stopped = "cancelled" in statuses
        finish_experiment(db, experiment_id, "interrupted" if stopped else "completed")


def close_finished_experiments(db: Database, *, older_than_s: float) -> list[uuid.UUID]:
    """Close every experiment on workers still `running` whose runs have all finished,
    the last more than `older_than_s` ago: the worker that stored the last outcome died
    before closing it. (An experiment with contenders is left alone: it may be one its own
    process runs, and a contender's run has no generation to date its end by. On workers
    its last job closes it, or `end_stalled_run_job` if that job's worker died.)"""
    cutoff = utcnow() - timedelta(seconds=older_than_s)
    unfinished_or_recent = (
        select(ExperimentRun.id)
        .outerjoin(Generation, Generation.id == ExperimentRun.generation_id)
        .where(ExperimentRun.experiment_id == Experiment.id)
        .where(
            or_(
                ExperimentRun.status.not_in(FINISHED_RUNS),
                Generation.finished_at.is_(None),  # also a run with no generation (a contender's)
                Generation.finished_at >= cutoff,
            )
        )
    )
    any_run = select(ExperimentRun.id).where(ExperimentRun.experiment_id == Experiment.id)
    stuck = db.read(
        lambda conn: conn.scalars(
            select(Experiment.id).where(
                and_(
                    Experiment.status == "running",
                    exists(any_run),
                    ~exists(unfinished_or_recent),
                )
            )
        ).all()
    )
    for experiment_id in stuck:
        log.warning("experiment %s: every run finished but it was left open; closed", experiment_id)
        finish_experiment(db, experiment_id, "completed")
    return list(stuck)


def sweeper(db: Database, app: App, *, bus: EventBus) -> Sweeper:
    """A worker's sweep: dead runners' generations interrupted (event stored and published)
    and, with auto-resume on, resumed as jobs; generations left queued by a worker that died
    before claiming them given a new job, experiment runs whose worker died after their
    generation ended but before storing the outcome given a new job, and experiments whose
    last run's worker died before closing them closed."""
    lease_ttl_s = get_settings().lease_ttl_s
    return Sweeper(
        db,
        bus=bus,
        resume=lambda generation_id: enqueue.resume_job(db, app, generation_id),
        also=lambda: (
            enqueue.requeue_stranded(db, app, older_than_s=lease_ttl_s),
            enqueue.requeue_unrecorded_runs(db, app, older_than_s=lease_ttl_s),
            close_finished_experiments(db, older_than_s=lease_ttl_s),
        ),
    )


def sweep(db: Database, app: App, *, bus: EventBus) -> list[uuid.UUID]:
    """One round of the worker's sweep (the periodic task); returns the interrupted ids."""
    return sweeper(db, app, bus=bus).sweep()
