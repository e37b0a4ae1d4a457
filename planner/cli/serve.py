"""`planner serve`: the Socket.IO progress endpoint alone."""

from __future__ import annotations

import click

from planner.cli.base import PlannerCommand, database
from planner.config import get_settings
from planner.errors import ConfigError


@click.command("serve", cls=PlannerCommand)
@click.option("--port", default=8765, show_default=True, type=int, help="0: any free port.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option(
    "--redis",
    "redis_url",
    default=None,
    help="Redis URL shared by several nodes (default: PLANNER_REDIS_URL); "
    "redis://HOST:PORT/DB[?channel=NAME].",
)
def serve(port: int, host: str, redis_url: str | None) -> None:
    """Run the Socket.IO progress endpoint alone (Ctrl-C stops it; with DuckDB the
    generations it runs are left interrupted, for `planner resume ID`).

    Clients connect with auth={"token": ACCESS_JWT} (see `planner token NAME`), then
    start_generation, join_generation, leave_generation and request_catch_up.
    """
    from planner import jobs
    from planner.plan import GenerationService
    from planner.realtime import RedisTarget, serve_forever

    redis_url = redis_url or get_settings().redis_url
    if redis_url:
        try:
            RedisTarget.parse(redis_url)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    db = database()
    db.ensure_schema()
    # PostgreSQL: starts are jobs for `planner worker`s; DuckDB: threads of this process.
    enqueue = jobs.enqueuer(db) if jobs.uses_jobs(db) else None
    service = GenerationService(db, sweep=True, enqueue=enqueue)
    try:
        serve_forever(
            host,
            port,
            redis_url,
            db=db,
            service=service,
            announce=lambda text: click.echo(text, err=True),
        )
    finally:
        # Its generations (DuckDB: they run here) stay resumable, not cancelled.
        service.shutdown(hand_off=True)
