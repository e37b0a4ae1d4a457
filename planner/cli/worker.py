"""`planner worker`: a Procrastinate worker running generation and experiment jobs."""

from __future__ import annotations

import click

from planner.cli.base import PlannerCommand, database
from planner.errors import InputError


@click.command("worker", cls=PlannerCommand)
@click.option(
    "--concurrency",
    default=4,
    show_default=True,
    type=click.IntRange(1, 1000),
    help="Jobs (generations) this worker runs at once.",
)
@click.option(
    "--queues",
    default="",
    help="Comma-separated queues (generations, experiments, sweep); default: all.",
)
@click.option("--name", default=None, help="Worker name shown in Procrastinate's tables.")
def worker(concurrency: int, queues: str, name: str | None) -> None:
    """Run generation and experiment jobs from PostgreSQL until Ctrl-C / SIGTERM.

    Start as many as you like, on as many machines as reach the database: any worker
    takes any job. A worker that dies loses nothing: the sweep (every worker runs it)
    marks its generations interrupted and another worker resumes them.
    """
    from planner.events import default_bus
    from planner.jobs import QUEUES, run_worker
    from planner.realtime import publishing

    chosen = [q.strip() for q in queues.split(",") if q.strip()]
    unknown = sorted(set(chosen) - set(QUEUES))
    if unknown:
        raise InputError(f"unknown queue {', '.join(unknown)}; queues: {', '.join(QUEUES)}")
    db = database()
    bus = default_bus()
    # Events of this worker's generations reach every Socket.IO node (PLANNER_REDIS_URL).
    with publishing(bus):
        run_worker(db, bus=bus, concurrency=concurrency, queues=chosen or None, name=name)
