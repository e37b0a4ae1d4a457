"""Experiments started from the dashboard: jobs for the workers, or a thread of this process.

With PostgreSQL an experiment's runs are jobs any `planner worker` runs (as with `planner
experiment`): `start` enqueues them, and `stop` cancels the runs no worker has begun,
whichever process asks. With DuckDB (one machine) `planner.experiments.run_experiment`
runs on a background thread of this process; it stores every run as it ends, and `stop`
asks it to start no more. Either way the page follows the experiment from the database,
like a generation; the thread never touches Streamlit. `start` returns once the
experiment's rows exist (its id is real), or raises with the reason it could not start.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field

from planner.db import Database
from planner.experiments import ExperimentConfig, ExperimentError, run_experiment
from planner.jobs import enqueue_experiment, make_app, stop_experiment, uses_jobs

START_TIMEOUT_S = 60.0


@dataclass
class ExperimentJob:
    user_id: uuid.UUID
    stop: threading.Event = field(default_factory=threading.Event)
    created: threading.Event = field(default_factory=threading.Event)
    experiment_id: uuid.UUID | None = None
    total_runs: int = 0
    error: str | None = None
    thread: threading.Thread | None = None

    @property
    def alive(self) -> bool:
        return self.thread is not None and self.thread.is_alive()


_jobs: dict[uuid.UUID, ExperimentJob] = {}
_lock = threading.Lock()


def start(db: Database, config: ExperimentConfig, user_id: uuid.UUID) -> uuid.UUID:
    """Validate, create the experiment's rows and run it: on the workers (PostgreSQL) or
    in the background here."""
    checked = config.validated(db)  # ExperimentError here, in the caller's thread
    if uses_jobs(db):
        experiment_id, _ = enqueue_experiment(db, make_app(db), checked, user_id)
        return experiment_id
    job = ExperimentJob(user_id)

    def on_start(experiment_id: uuid.UUID, total_runs: int) -> None:
        job.experiment_id, job.total_runs = experiment_id, total_runs
        job.created.set()

    def work() -> None:
        try:
            run_experiment(db, checked, user_id=user_id, on_start=on_start, stop=job.stop)
        except Exception as exc:  # reported to the page; the runs stored so far stay
            job.error = f"{type(exc).__name__}: {exc}"
        finally:
            job.created.set()

    job.thread = threading.Thread(target=work, name="dashboard-experiment", daemon=True)
    job.thread.start()
    if not job.created.wait(START_TIMEOUT_S) or job.experiment_id is None:
        job.stop.set()
        raise ExperimentError(job.error or "the experiment did not start in time")
    with _lock:
        _jobs[job.experiment_id] = job
    return job.experiment_id


def job_for(experiment_id: uuid.UUID, user_id: uuid.UUID) -> ExperimentJob | None:
    """This process's job for the experiment, if the user started it here."""
    with _lock:
        job = _jobs.get(experiment_id)
    return job if job is not None and job.user_id == user_id else None


def stop(db: Database, experiment_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    """Ask the experiment to start no more runs (those under way finish and are kept);
    False when nothing here can stop it (DuckDB: another process runs it, or none)."""
    if uses_jobs(db):
        stop_experiment(db, experiment_id, user_id)
        return True
    job = job_for(experiment_id, user_id)
    if job is None or not job.alive:
        return False
    job.stop.set()
    return True


def stop_all() -> None:
    """This process stops: every experiment running here starts no more runs."""
    with _lock:
        running = list(_jobs.values())
    for job in running:
        job.stop.set()
