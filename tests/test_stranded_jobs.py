"""Work a dead worker leaves with nothing to find it gets a new job from the sweep: a
generation left `queued` by a worker that died between fetching its job and claiming it,
and an experiment run whose generation ended before its worker stored the outcome; one
whose job still waits gets none."""

from __future__ import annotations

import threading
import uuid
from typing import Any

from procrastinate import App
from sqlalchemy import select, text

from planner.auth import get_or_create_local_user
from planner.db import Database, Experiment, ExperimentRun, GenerationLease
from planner.events import EventBus
from planner.experiment_cells import RunOutcome
from planner.experiments import (
    ExperimentConfig,
    PlannedRun,
    create_rows,
    plan_runs,
    run_outcome,
    store_outcome,
)
from planner.jobs import enqueue_experiment, enqueue_generation, make_app, running
from planner.jobs.enqueue import driver_connection, requeue_stranded, requeue_unrecorded_runs
from planner.plan import GenerationRequest


def _job_of(db: Database, generation_id) -> int:  # noqa: ANN001
    return db.read(
        lambda conn: conn.scalar(
            select(GenerationLease.job_id).where(GenerationLease.generation_id == generation_id)
        )
    )


def test_a_queued_generation_whose_job_no_longer_waits_gets_a_new_one(postgres: Database) -> None:
    postgres.ensure_schema()
    app = make_app(postgres)
    user = get_or_create_local_user(postgres)
    gid = enqueue_generation(postgres, app, GenerationRequest("A bike shop", user.id, speed=0))
    first_job = _job_of(postgres, gid)

    assert requeue_stranded(postgres, app, older_than_s=0) == []  # its job still waits

    # The job leaves the queue without its generation ever being claimed, as when the
    # worker that fetched it dies (here: cancelled through Procrastinate's own API).
    postgres.transaction(
        lambda conn: app.job_manager.cancel_job_by_id(first_job, connection=driver_connection(conn))
    )
    assert requeue_stranded(postgres, app, older_than_s=3600) == []  # not old enough yet
    assert requeue_stranded(postgres, app, older_than_s=0) == [gid]
    assert _job_of(postgres, gid) not in (None, first_job)
    assert requeue_stranded(postgres, app, older_than_s=0) == []  # the new one waits


def test_an_experiment_run_whose_worker_died_after_its_generation_ended_is_recorded(
    postgres: Database,
) -> None:
    """The worker finished the generation and died before storing the run's outcome (its
    job then ends `failed`, as stalled): the generation holds no lease to expire, so only
    this finds the run, and the experiment still closes."""
    app = make_app(postgres)
    experiment_id, run = _one_run_experiment_on_workers(postgres, app)
    run_id, gid = run.id, run.generation_id
    first_job = _job_of(postgres, gid)
    assert requeue_unrecorded_runs(postgres, app, older_than_s=0) == []  # nothing ended yet

    outcome = running.run_stored(postgres, gid, bus=EventBus(), cancel=threading.Event())
    assert outcome is not None and outcome.status == "completed"
    postgres.transaction(
        lambda conn: app.job_manager.cancel_job_by_id(first_job, connection=driver_connection(conn))
    )
    assert _run_status(postgres, run_id) == "running"

    assert requeue_unrecorded_runs(postgres, app, older_than_s=3600) == []  # not old enough
    assert requeue_unrecorded_runs(postgres, app, older_than_s=0) == [gid]
    assert requeue_unrecorded_runs(postgres, app, older_than_s=0) == []  # the new one waits
    new_job = _job_of(postgres, gid)
    assert new_job not in (None, first_job)
    task, arguments = postgres.read(
        lambda conn: conn.execute(
            text("SELECT task_name, args FROM procrastinate_jobs WHERE id = :id"), {"id": new_job}
        ).one()
    )
    assert (task, arguments) == ("planner:run_experiment_run", {"run_id": str(run_id)})

    # What that job runs: the generation is found finished, its outcome stored, the
    # experiment closed.
    running.run_experiment_run(
        postgres, run_id, bus=EventBus(), cancel=threading.Event(), job_id=new_job
    )
    assert _run_status(postgres, run_id) == "completed"
    assert _experiment_status(postgres, experiment_id) == "completed"
    assert requeue_unrecorded_runs(postgres, app, older_than_s=0) == []


def _one_run_experiment_on_workers(db: Database, app: App) -> tuple[uuid.UUID, Any]:
    """An experiment of one fault-free `resume` run, enqueued as a job: (its id, its run)."""
    db.ensure_schema()
    user = get_or_create_local_user(db)
    config = ExperimentConfig(faults=("none",), strategies=("resume",), repeats=1, speed=1000)
    experiment_id, total = enqueue_experiment(db, app, config, user.id)
    assert total == 1
    run = db.read(
        lambda conn: conn.execute(
            select(ExperimentRun).where(ExperimentRun.experiment_id == experiment_id)
        ).one()
    )
    return experiment_id, run


def _run_status(db: Database, run_id) -> str:  # noqa: ANN001
    return db.read(
        lambda conn: conn.scalar(select(ExperimentRun.status).where(ExperimentRun.id == run_id))
    )


def test_an_experiment_whose_last_runs_worker_died_before_closing_it_is_closed(
    postgres: Database,
) -> None:
    experiment_id, run = _one_run_experiment_on_workers(postgres, make_app(postgres))
    assert running.close_finished_experiments(postgres, older_than_s=0) == []  # a run waits

    # The last run's worker stored its outcome and died before closing the experiment.
    outcome = running.run_stored(
        postgres, run.generation_id, bus=EventBus(), cancel=threading.Event()
    )
    assert outcome is not None
    planned = PlannedRun(run.id, run.fault, run.strategy, run.repeat_index, run.seed)
    store_outcome(postgres, run_outcome(planned, outcome))
    assert _experiment_status(postgres, experiment_id) == "running"

    assert running.close_finished_experiments(postgres, older_than_s=3600) == []
    assert running.close_finished_experiments(postgres, older_than_s=0) == [experiment_id]
    assert _experiment_status(postgres, experiment_id) == "completed"
    assert _run_status(postgres, run.id) == "completed"
    assert running.close_finished_experiments(postgres, older_than_s=0) == []


def _experiment_status(db: Database, experiment_id) -> str:  # noqa: ANN001
    return db.read(
        lambda conn: conn.scalar(select(Experiment.status).where(Experiment.id == experiment_id))
    )


def test_an_experiment_its_own_process_runs_is_left_for_that_process_to_close(
    postgres: Database,
) -> None:
    """A contender's run has no generation: the experiment is the submitting process's,
    which closes it when its last run is judged, even when all are stored already."""
    postgres.ensure_schema()
    user = get_or_create_local_user(postgres)
    config = ExperimentConfig(faults=("none",), strategies=("oracle",), repeats=1, speed=1000)
    runs = plan_runs(config)
    experiment_id = create_rows(postgres, config, runs, user.id)
    for run in runs:
        store_outcome(postgres, RunOutcome(run, None, "completed", None, 2, 1.0, 10, 0, 0, None))
    assert {_run_status(postgres, run.run_id) for run in runs} == {"completed"}
    assert running.close_finished_experiments(postgres, older_than_s=0) == []
    assert _experiment_status(postgres, experiment_id) == "running"


def _runs_of(db: Database, experiment_id) -> list[ExperimentRun]:  # noqa: ANN001
    return db.read(
        lambda conn: conn.execute(
            select(ExperimentRun).where(ExperimentRun.experiment_id == experiment_id)
        ).all()
    )


def test_a_contender_run_whose_worker_died_is_an_error_and_the_experiment_closes(
    postgres: Database,
) -> None:
    """A contender's run on a worker has no generation for the sweep to find: when its job
    stalls, the run is recorded as an error saying why and, being the last, closes the
    experiment."""
    user = get_or_create_local_user(postgres)
    config = ExperimentConfig(faults=("none",), strategies=("oracle",), repeats=1, speed=1000)
    experiment_id, total = enqueue_experiment(postgres, make_app(postgres), config, user.id)
    assert total == 1
    (run,) = _runs_of(postgres, experiment_id)
    assert run.status == "pending" and run.generation_id is None  # until its job starts it

    running.end_stalled_run_job(postgres, run.id, contender=True)
    (ended,) = _runs_of(postgres, experiment_id)
    assert (ended.status, ended.error) == ("error", running.STALLED_CONTENDER_RUN)
    assert _experiment_status(postgres, experiment_id) == "completed"
    # A duplicate notice changes nothing.
    running.end_stalled_run_job(postgres, run.id, contender=True)
    assert _runs_of(postgres, experiment_id)[0].error == running.STALLED_CONTENDER_RUN


def test_a_stalled_job_whose_worker_stored_the_last_outcome_closes_the_experiment(
    postgres: Database,
) -> None:
    """The sweep cannot date a contender's run, so it leaves an experiment with contenders
    open; a dead worker's last job closes it instead, whatever it ran."""
    user = get_or_create_local_user(postgres)
    config = ExperimentConfig(faults=("none",), strategies=("oracle",), repeats=1, speed=1000)
    experiment_id, _ = enqueue_experiment(postgres, make_app(postgres), config, user.id)
    (run,) = _runs_of(postgres, experiment_id)
    planned = PlannedRun(run.id, run.fault, run.strategy, run.repeat_index, run.seed)
    store_outcome(postgres, RunOutcome(planned, None, "completed", None, 2, 1.0, 10, 0, 0, None))
    assert running.close_finished_experiments(postgres, older_than_s=0) == []
    running.end_stalled_run_job(postgres, run.id, contender=True)
    assert _runs_of(postgres, experiment_id)[0].status == "completed", "a stored run stays"
    assert _experiment_status(postgres, experiment_id) == "completed"
