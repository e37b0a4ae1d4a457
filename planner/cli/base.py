"""What every `planner` command shares: errors mapped in one place, and the database.

Errors are mapped in one place (`PlannerCommand`): a `PlannerError` from any command is
one line on stderr, `planner: <command>: <message>`, and the exit code of its category
(`planner.errors`). Anything else escaping is a bug and keeps its traceback. A command
that needs the database gets the one `Database` of this run from `database()`, made from
the settings on first use and closed when the command ends.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from planner.config import get_settings
from planner.db import Database
from planner.errors import PlannerError


class PlannerCommand(click.Command):
    """A command whose PlannerErrors end it with one line and the category's exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PlannerError as exc:
            click.echo(f"planner: {_command_name(ctx)}: {exc}", err=True)
            ctx.exit(exc.exit_code)


def _command_name(ctx: click.Context) -> str:
    """`users add`, `generate`, ...: the words after `planner`, however it was started."""
    names = []
    while ctx.parent is not None:
        names.append(ctx.info_name or "")
        ctx = ctx.parent
    return " ".join(reversed(names))


class PlannerGroup(click.Group):
    command_class = PlannerCommand
    group_class = type


def database() -> Database:
    """The database of this command (made on first use, closed when the command ends)."""
    ctx = click.get_current_context()
    db = ctx.meta.get("planner.db")
    if db is None:
        db = Database.from_settings(get_settings())
        ctx.meta["planner.db"] = db
        ctx.call_on_close(db.close)
    return db


def stop(message: str, code: int) -> None:
    """End a command that did not fail with an error but did not do its work either."""
    click.echo(f"planner: {message}", err=True)
    sys.exit(code)
