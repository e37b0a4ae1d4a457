"""The Procrastinate app on planner's PostgreSQL database.

Jobs live in Procrastinate's tables (migration 0005 applies its schema), in the same
database as the generations, so a job is deferred in the same transaction that writes
its generation's row (`Task.configure(connection=...)`): there is never a queued
generation without its job, nor a job without its row. DuckDB has no job queue: there
generations run in-process (`JobsUnavailable` says so).
"""

from __future__ import annotations

from procrastinate import App, PsycopgConnector
from sqlalchemy.engine import make_url

from planner.config import get_settings
from planner.db import Database
from planner.errors import ConfigError
from planner.jobs.queues import SWEEP_QUEUE
from planner.jobs.tasks import blueprint, finish_stalled_jobs, sweep


class JobsUnavailable(ConfigError):
    """Durable jobs need PostgreSQL (PLANNER_DATABASE_URL=postgresql+psycopg://...)."""


def uses_jobs(db: Database) -> bool:
    """Whether front ends enqueue jobs on this database (PostgreSQL) or run in-process."""
    return not db.is_duckdb


def conninfo(db: Database) -> str:
    """The libpq connection string of the database (psycopg, without SQLAlchemy's driver)."""
    if not uses_jobs(db):
        raise JobsUnavailable(
            f"{db.safe_url} is DuckDB: workers and jobs need PostgreSQL "
            "(PLANNER_DATABASE_URL=postgresql+psycopg://...); with DuckDB generations run "
            "in the process that starts them"
        )
    return make_url(db.url).set(drivername="postgresql").render_as_string(hide_password=False)


def make_app(db: Database) -> App:
    """An app with planner's tasks on `db` (not opened: a worker opens it, deferring on a
    caller's connection needs no pool)."""
    app = App(connector=PsycopgConnector(conninfo=conninfo(db)))
    app.add_tasks_from(blueprint(), namespace="planner")
    seconds = max(1, round(get_settings().sweep_interval_s))
    app.periodic(cron=f"* * * * * */{seconds}", periodic_id="sweep")(
        app.task(name="planner:sweep", queue=SWEEP_QUEUE, pass_context=True)(sweep)
    )
    app.periodic(cron=f"* * * * * */{seconds}", periodic_id="finish_stalled_jobs")(
        app.task(name="planner:finish_stalled_jobs", queue=SWEEP_QUEUE, pass_context=True)(
            finish_stalled_jobs
        )
    )
    return app
