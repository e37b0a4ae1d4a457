"""Planner's Procrastinate tasks: a generation, an experiment run, and the sweep.

Each task is thin: it takes the worker's Database and event bus from the job context
(`additional_context`, set by `planner.jobs.worker`), maps a Procrastinate abort onto the
generation's cancel, and calls the library (`planner.jobs.running`). A job that finds its
generation already claimed elsewhere, or loses its lease while running, ends without
writing anything more: the generation's record belongs to its current runner.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from procrastinate import Blueprint, JobContext

from planner.db import Database
from planner.events import EventBus
from planner.jobs import running
from planner.jobs.queues import EXPERIMENTS_QUEUE, GENERATIONS_QUEUE

ABORT_POLL_S = 0.5

blueprint = Blueprint()


def _environment(context: JobContext) -> tuple[Database, EventBus]:
    extra = context.additional_context
    return extra["db"], extra["bus"]


@contextmanager
def _cancel_on_abort(context: JobContext) -> Iterator[threading.Event]:
    """A cancel event set when the job is asked to abort (`cancel_job_by_id(abort=True)`)."""
    cancel = threading.Event()
    done = threading.Event()

    def watch() -> None:
        while not done.wait(ABORT_POLL_S):
            if context.should_abort():
                cancel.set()
                return

    watcher = threading.Thread(target=watch, name="abort-watch", daemon=True)
    watcher.start()
    try:
        yield cancel
    finally:
        done.set()
        watcher.join()


@blueprint.task(name="run_generation", queue=GENERATIONS_QUEUE, pass_context=True)
def run_generation(context: JobContext, generation_id: str) -> None:
    """Run a queued generation, or resume an interrupted one, to its end."""
    db, bus = _environment(context)
    with _cancel_on_abort(context) as cancel:
        running.run_stored(
            db, uuid.UUID(generation_id), bus=bus, cancel=cancel, job_id=context.job.id
        )


@blueprint.task(name="run_experiment_run", queue=EXPERIMENTS_QUEUE, pass_context=True)
def run_experiment_run(context: JobContext, run_id: str, request: dict[str, Any]) -> None:
    """One run of an experiment: its generation (made on first try), then its outcome."""
    db, bus = _environment(context)
    with _cancel_on_abort(context) as cancel:
        running.run_experiment_run(
            db, uuid.UUID(run_id), request, bus=bus, cancel=cancel, job_id=context.job.id
        )


def sweep(context: JobContext, timestamp: int) -> None:
    """The periodic sweep (registered by `planner.jobs.app.make_app`)."""
    db, bus = _environment(context)
    running.sweep(db, context.additional_context["deferring"], bus=bus)
