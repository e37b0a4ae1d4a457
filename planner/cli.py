"""The `planner` command: thin over the library; each command's --help is its manual."""

from __future__ import annotations

import sys

import click

from planner import db
from planner.config import ConfigError
from planner.logging import configure_logging


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"planner: {message}", err=True)
    sys.exit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--log-level",
    default="WARNING",
    show_default=True,
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
    help="JSON log lines on stderr from this level up.",
)
def main(log_level: str) -> None:
    """planner: long LLM generations that survive unreliable networks."""
    configure_logging(log_level)


@main.group("db")
def db_group() -> None:
    """The database (PLANNER_DATABASE_URL, DuckDB by default)."""


@db_group.command("upgrade")
def db_upgrade() -> None:
    """Migrate the configured database to the newest schema (alembic upgrade head)."""
    try:
        db.ensure_schema()
    except (ConfigError, db.DatabaseLockedError) as exc:
        _fail(str(exc))
    click.echo("database is at the newest schema", err=True)


@main.group("users")
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

    try:
        auth.validate_username(name)
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        elif not sys.stdin.isatty():
            _fail("users add: no terminal to ask for the password on; use --password-stdin")
        else:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
        db.ensure_schema()
        user = auth.create_user(name, password)
    except (auth.AuthError, ConfigError, db.DatabaseLockedError) as exc:
        _fail(f"users add: {exc}")
    click.echo(f"created user {user.username!r}", err=True)


@main.command("token")
@click.argument("name")
def token(name: str) -> None:
    """Print an access JWT for user NAME (for scripts and tests); valid for 60 minutes."""
    from planner import auth

    try:
        db.ensure_schema()
        click.echo(auth.issue_access_token(auth.get_user(name)))
    except (auth.AuthError, ConfigError, db.DatabaseLockedError) as exc:
        _fail(f"token: {exc}")


@main.command("sim")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8800, show_default=True, type=int)
@click.option("--faults", default="none", show_default=True, help="Profile name or JSON list.")
@click.option("--speed", default=1.0, show_default=True, type=float)
def sim(host: str, port: int, faults: str, speed: float) -> None:
    """Run the Anthropic-compatible simulator."""
    _fail("sim: not built yet (issue 3)")


@main.command("generate")
@click.argument("description")
@click.option("--user", "username", default=None, help="Owner (default: the local user).")
@click.option("--strategy", default="resume", show_default=True)
@click.option("--faults", default="none", show_default=True)
@click.option("--speed", default=1.0, show_default=True, type=float)
@click.option("--json", "as_json", is_flag=True, help="Print the result object on stdout.")
def generate(
    description: str, username: str | None, strategy: str, faults: str, speed: float, as_json: bool
) -> None:
    """Generate one MasterPlan from DESCRIPTION, with a progress bar on stderr."""
    _fail("generate: not built yet (issue 5)")


@main.command("resume")
@click.argument("generation_id")
def resume(generation_id: str) -> None:
    """Continue an interrupted generation from its last checkpoint."""
    _fail("resume: not built yet (issue 5)")


@main.command("serve")
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
    """Run the Socket.IO progress endpoint alone (Ctrl-C stops it).

    Clients connect with auth={"token": ACCESS_JWT} (see `planner token NAME`), then
    start_generation, join_generation, leave_generation and request_catch_up.
    """
    from planner.config import get_settings
    from planner.realtime import RealtimeStartError, RedisTarget, serve_forever

    try:
        redis_url = redis_url or get_settings().redis_url
        if redis_url:
            RedisTarget.parse(redis_url)
        db.ensure_schema()
        serve_forever(host, port, redis_url, announce=lambda text: click.echo(text, err=True))
    except (ConfigError, ValueError, RealtimeStartError, db.DatabaseLockedError) as exc:
        _fail(str(exc))


@main.command("experiment")
@click.option("--faults", required=True, help="Comma-separated fault profiles.")
@click.option("--strategies", required=True, help="Comma-separated strategies.")
@click.option("--repeats", default=1, show_default=True, type=int)
@click.option("--concurrency", default=1, show_default=True, type=int)
@click.option("--speed", default=100.0, show_default=True, type=float)
def experiment(faults: str, strategies: str, repeats: int, concurrency: int, speed: float) -> None:
    """Run a failure-mode experiment: every fault x strategy, REPEATS times."""
    _fail("experiment: not built yet (issue 8)")


@main.command("replay")
@click.argument("generation_id")
@click.option("--speed", default=1.0, show_default=True, type=float)
def replay(generation_id: str, speed: float) -> None:
    """Replay a stored generation's chunk timeline and events."""
    _fail("replay: not built yet (issue 8)")


@main.command("export")
@click.argument("directory")
def export(directory: str) -> None:
    """Export generations, attempts, chunks, events and experiments as Parquet."""
    _fail("export: not built yet (issue 8)")
