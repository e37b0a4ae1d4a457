"""`planner db`: the schema of the configured database."""

from __future__ import annotations

import click

from planner.cli.base import PlannerGroup, database


@click.group("db", cls=PlannerGroup)
def db_group() -> None:
    """The database (PLANNER_DATABASE_URL, DuckDB by default)."""


@db_group.command("upgrade")
def db_upgrade() -> None:
    """Migrate the configured database to the newest schema (alembic upgrade head)."""
    database().ensure_schema()
    click.echo("database is at the newest schema", err=True)
