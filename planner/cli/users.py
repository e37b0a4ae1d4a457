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
    user = auth.create_user(database(), name, _read_password(password_stdin))
    click.echo(f"created user {user.username!r}", err=True)


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise InputError("no terminal to ask for the password on; use --password-stdin")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)


@users_group.command("list")
def users_list() -> None:
    """Print every user: name, created (UTC), and whether it can log in."""
    from planner import auth

    for user in auth.list_users(database()):
        login = "can log in" if user.can_login else "cannot log in (built-in)"
        click.echo(f"{user.username}\t{user.created_at:%Y-%m-%d %H:%M}\t{login}")


@users_group.command("delete")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def users_delete(name: str, yes: bool) -> None:
    """Delete user NAME with every generation, plan and experiment they own; their tokens
    stop working at once."""
    from planner import auth

    user = auth.get_user(database(), name)
    if not yes:
        if not sys.stdin.isatty():
            raise InputError("no terminal to confirm on; add --yes")
        click.confirm(f"Delete {user.username!r} and everything they own?", abort=True, err=True)
    auth.delete_user(database(), user.username)
    click.echo(f"deleted user {user.username!r}", err=True)


@users_group.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_passwd(name: str, password_stdin: bool) -> None:
    """Set a new password for user NAME (from --password-stdin or a hidden prompt)."""
    from planner import auth

    user = auth.change_password(database(), name, _read_password(password_stdin))
    click.echo(f"changed the password of {user.username!r}", err=True)


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
