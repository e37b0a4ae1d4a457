"""Durable jobs on Procrastinate (PostgreSQL): generations, experiment runs, the sweep.

With PostgreSQL, front ends enqueue (`enqueue_generation`, `enqueue_experiment`) and any
`planner worker` runs the jobs; DuckDB keeps generations in the process that starts
them (`uses_jobs` tells which). Liveness is the generations' leases: the periodic sweep
interrupts dead runners' generations and enqueues their resumes. `stop_experiment`
stops an experiment's runs from any process.
"""

from planner.jobs.app import JobsUnavailable, make_app, uses_jobs
from planner.jobs.control import (
    cancel_generation,
    enqueuer,
    resume_generation,
    stop_experiment,
)
from planner.jobs.enqueue import (
    cancel_job,
    enqueue_experiment,
    enqueue_generation,
    resume_job,
)
from planner.jobs.queues import QUEUES
from planner.jobs.running import run_experiment_run, run_stored, sweep
from planner.jobs.worker import run_worker

__all__ = [
    "QUEUES",
    "JobsUnavailable",
    "cancel_generation",
    "cancel_job",
    "enqueue_experiment",
    "enqueue_generation",
    "enqueuer",
    "make_app",
    "resume_generation",
    "resume_job",
    "run_experiment_run",
    "run_stored",
    "run_worker",
    "stop_experiment",
    "sweep",
    "uses_jobs",
]
