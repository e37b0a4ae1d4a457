"""Planner's Procrastinate tasks: a generation, an experiment run (a strategy's, or a
contender's), the sweep, and the end of stalled jobs.

Each task is thin: it takes the worker's Database and event bus from the job context
(`additional_context`, set by `planner.jobs.worker`), maps a Procrastinate abort onto the
generation, and calls the library (`planner.jobs.running`). An abort a user asked for
(`cancel_job_by_id(abort=True)`) cancels the generation; the abort of a worker shutting
down (SIGTERM, Ctrl-C, after PLANNER_SHUTDOWN_GRACE_S) hands the generation to the other
workers instead: interrupted now and, with auto-resume, resumed from its checkpoint by
whichever worker takes the new job, so stopping a worker never waits for its generations
to finish nor loses one. A job that finds its generation already claimed elsewhere, or
loses its lease while running (a hand-off is one), ends without writing anything more:
the generation's record belongs to its current runner.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from procrastinate import Blueprint, JobContext
from procrastinate.job_context import AbortReason
from procrastinate.jobs import Status

from planner.config import get_settings
from planner.db import Database
from planner.events import EventBus
from planner.jobs import running
from planner.jobs.queues import (
    EXPERIMENTS_QUEUE,
    GENERATIONS_QUEUE,
    RUN_CONTENDER_RUN,
    RUN_EXPERIMENT_RUN,
)

log = logging.getLogger(__name__)

ABORT_POLL_S = 0.5


def _environment(context: JobContext) -> tuple[Database, EventBus]:
    extra = context.additional_context
    return extra["db"], extra["bus"]


@contextmanager
def _stop_on_abort(
    context: JobContext, generation_id: Callable[[], uuid.UUID | None]
) -> Iterator[threading.Event]:
    """A cancel event set when a user asks the job to abort; when the worker shuts down,
    `generation_id()`'s generation is handed off instead (the cancel stays unset)."""
    cancel = threading.Event()
    done = threading.Event()

    def watch() -> None:
        while not done.wait(ABORT_POLL_S):
            reason = context.abort_reason()
            if reason is None:
                continue
            if reason == AbortReason.SHUTDOWN:
                _hand_off(context, generation_id())
            else:
                cancel.set()
            return

    watcher = threading.Thread(target=watch, name="abort-watch", daemon=True)
    watcher.start()
    try:
        yield cancel
    finally:
        done.set()
        watcher.join()


def _hand_off(context: JobContext, generation_id: uuid.UUID | None) -> None:
    if generation_id is None:
        return
    try:
        context.additional_context["sweeper"].hand_off(generation_id)
    except Exception:  # the sweep finds it once this process is gone
        log.exception("generation %s: could not be handed off", generation_id)


def run_generation(context: JobContext, generation_id: str) -> None:
    """Run a queued generation, or resume an interrupted one, to its end."""
    db, bus = _environment(context)
    gid = uuid.UUID(generation_id)
    with _stop_on_abort(context, lambda: gid) as cancel:
        running.run_stored(db, gid, bus=bus, cancel=cancel, job_id=context.job.id)


def run_experiment_run(context: JobContext, run_id: str) -> None:
    """One run of an experiment: its generation (made when it was enqueued), then its
    outcome stored on the run."""
    db, bus = _environment(context)
    rid = uuid.UUID(run_id)
    with _stop_on_abort(context, lambda: running.generation_of_run(db, rid)) as cancel:
        running.run_experiment_run(db, rid, bus=bus, cancel=cancel, job_id=context.job.id)


def run_contender_run(
    context: JobContext, run_id: str, description: str, model: str, speed: float
) -> None:
    """One contender's run of an experiment: its two requests, its outcome stored."""
    db, _ = _environment(context)
    running.run_contender_run(
        db, uuid.UUID(run_id), description=description, model=model, speed=speed
    )


def blueprint() -> Blueprint:
    """The tasks, on a blueprint of their own for each app: adding a blueprint to an app
    renames its tasks into the app's namespace, so one shared blueprint would be renamed
    again by every app a process makes."""
    made = Blueprint()
    made.task(name="run_generation", queue=GENERATIONS_QUEUE, pass_context=True)(run_generation)
    made.task(name="run_experiment_run", queue=EXPERIMENTS_QUEUE, pass_context=True)(
        run_experiment_run
    )
    made.task(name="run_contender_run", queue=EXPERIMENTS_QUEUE, pass_context=True)(
        run_contender_run
    )
    return made


def sweep(context: JobContext, timestamp: int) -> None:
    """The periodic sweep (registered by `planner.jobs.app.make_app`)."""
    db, bus = _environment(context)
    running.sweep(db, context.additional_context["deferring"], bus=bus)


async def finish_stalled_jobs(context: JobContext, timestamp: int) -> None:
    """Jobs whose worker stopped heartbeating (it died) end as `failed` instead of staying
    `doing` for ever (Procrastinate's stalled-jobs recipe, finishing where it retries):
    the sweep has already given each one's generation a new job, or will at its next
    round, so a retry would only run a duplicate. A contender's run has no generation:
    it is recorded as an error here, and an experiment job's experiment is closed if the
    dead worker stored its last outcome (`running.end_stalled_run_job`). The stalled
    timeout is the one the workers prune each other by (`stalled_worker_timeout`, the
    lease TTL)."""
    manager = context.app.job_manager
    stalled = await manager.get_stalled_jobs(seconds_since_heartbeat=get_settings().lease_ttl_s)
    for job in stalled:
        await manager.finish_job(job, Status.FAILED, delete_job=False)
        if job.task_name in (RUN_CONTENDER_RUN, RUN_EXPERIMENT_RUN):
            db, _ = _environment(context)
            run_id = uuid.UUID(str(job.task_kwargs["run_id"]))
            contender = job.task_name == RUN_CONTENDER_RUN
            await asyncio.to_thread(running.end_stalled_run_job, db, run_id, contender=contender)
