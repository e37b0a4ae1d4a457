"""`planner users` and `planner token`: accounts and access tokens for scripts."""

from __future__ import annotations

import sys

import click

from planner.cli.base import PlannerCommand, PlannerGroup, database
from planner.errors import InputError


@click.group("users", cls=PlannerGroup)
def users_group() -> None:
    """Manage users."""


@users_group.command("add")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_add(name: str, password_stdin: bool) -> None:
    """Create user NAME (password from --password-stdin or a hidden prompt).

    With --password-stdin the first line of standard input is the password (its line
    ending is dropped, other whitespace kept).
    """
    from planner import auth

    auth.validate_username(name)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif not sys.stdin.isatty():
        raise InputError("no terminal to ask for the password on; use --password-stdin")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    user = auth.create_user(database(), name, password)
    click.echo(f"created user {user.username!r}", err=True)


@click.command("token", cls=PlannerCommand)
@click.argument("name")
def token(name: str) -> None:
    """Print an access JWT for user NAME (for scripts and tests); valid for 15 minutes.

    It belongs to a session of its own, which a password change or `planner users delete`
    ends like every other session of the user.
    """
    from planner import auth, sessions

    db = database()
    click.echo(
        sessions.start_session(db, auth.get_user(db, name), kind=sessions.SCRIPT).access_token
    )
