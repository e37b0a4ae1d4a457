"""A generation left `queued` by a worker that died between fetching its job and claiming
it gets a new job from the sweep; one whose job still waits gets none."""

from __future__ import annotations

from sqlalchemy import select

from planner.auth import get_or_create_local_user
from planner.db import Database, GenerationLease
from planner.jobs import enqueue_generation, make_app
from planner.jobs.enqueue import driver_connection, requeue_stranded
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
