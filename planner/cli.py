"""The `planner` command: thin over the library; each command's --help is its manual.

Errors are mapped in one place (`PlannerCommand`): a `PlannerError` from any command is
one line on stderr, `planner: <command>: <message>`, and the exit code of its category
(`planner.errors`). Anything else escaping is a bug and keeps its traceback. A command
that needs the database gets the one `Database` of this run from `_database()`, made from
the settings on first use and closed when the command ends.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from planner.config import get_settings
from planner.db import Database
from planner.errors import ConfigError, InputError, PlannerError
from planner.logging import configure_logging


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


def _database() -> Database:
    """The database of this command (made on first use, closed when the command ends)."""
    ctx = click.get_current_context()
    db = ctx.meta.get("planner.db")
    if db is None:
        db = Database.from_settings(get_settings())
        ctx.meta["planner.db"] = db
        ctx.call_on_close(db.close)
    return db


def _stop(message: str, code: int) -> None:
    """End a command that did not fail with an error but did not do its work either."""
    click.echo(f"planner: {message}", err=True)
    sys.exit(code)


@click.group(cls=PlannerGroup, context_settings={"help_option_names": ["-h", "--help"]})
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
    _database().ensure_schema()
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

    auth.validate_username(name)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif not sys.stdin.isatty():
        raise InputError("no terminal to ask for the password on; use --password-stdin")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    user = auth.create_user(_database(), name, password)
    click.echo(f"created user {user.username!r}", err=True)


@main.command("token")
@click.argument("name")
def token(name: str) -> None:
    """Print an access JWT for user NAME (for scripts and tests); valid for 60 minutes."""
    from planner import auth

    click.echo(auth.issue_access_token(auth.get_user(_database(), name)))


@main.command("sim")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8800, show_default=True, type=int, help="0 picks a free port.")
@click.option("--faults", default="none", show_default=True, help="Profile name or JSON list.")
@click.option("--speed", default=1.0, show_default=True, type=float, help="0 = no delays.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--api-key", default=None, help="Refuse requests without this key (401).")
def sim(host: str, port: int, faults: str, speed: float, seed: int, api_key: str | None) -> None:
    """Run the Anthropic-compatible simulator until interrupted.

    Point a client at it with ANTHROPIC_BASE_URL=http://HOST:PORT (any API key unless
    --api-key is given). It serves planner's planning model: discovery and MasterPlan
    JSON for planner's prompts, plain prose otherwise. Admin endpoints: /admin/health,
    /admin/stats, /admin/faults (PUT a new spec).

    \b
    Fault profiles: none, drop-at-90, drop-at-50, drop-twice, flaky, overloaded,
    rate-limited, stall, eof, sse-error, cutoff-134s, slow, corrupt.
    Or a JSON list of faults, e.g.
      '[{"type": "reset", "toxicity": 1.0, "on_requests": [1], "at_fraction": 0.9}]'
    Fault types: reset, sse_error, eof, stall, http_error, latency, bandwidth, cutoff,
    corrupt. Per request: headers x-planner-faults, x-planner-run, x-planner-seed,
    x-planner-speed.
    """
    import threading

    from planner.plan.model import PLANNING_MODEL
    from planner.sim import FaultSpecError, Simulator

    try:
        simulator = Simulator(
            faults=faults,
            speed=speed,
            seed=seed,
            api_key=api_key,
            host=host,
            port=port,
            model=PLANNING_MODEL,
        ).start()
    except (FaultSpecError, ValueError, OSError) as exc:
        raise PlannerError(str(exc)) from None
    click.echo(
        f"simulator listening on {simulator.base_url} (faults={faults}, speed={speed:g})",
        err=True,
    )
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        simulator.stop()


@main.command("generate")
@click.argument("description")
@click.option("--user", "username", default=None, help="Owner (default: the local user).")
@click.option(
    "--strategy",
    default="resume",
    show_default=True,
    help="Recovery strategy: none, hybrid, restart or resume.",
)
@click.option(
    "--faults",
    default="none",
    show_default=True,
    help="Simulator fault profile (e.g. drop-at-90) or a JSON list of faults.",
)
@click.option(
    "--speed",
    default=1.0,
    show_default=True,
    type=float,
    help="Simulator clock factor (100 = a hundred times faster, 0 = unlimited).",
)
@click.option("--seed", default=0, show_default=True, type=int, help="Simulator seed.")
@click.option("--json", "as_json", is_flag=True, help="Print the result object on stdout.")
def generate(
    description: str,
    username: str | None,
    strategy: str,
    faults: str,
    speed: float,
    seed: int,
    as_json: bool,
) -> None:
    """Generate one MasterPlan from DESCRIPTION, with a progress bar on stderr.

    Exits 0 only when the plan was generated and stored. An interrupted generation
    (Ctrl-C, a killed process) is continued with `planner resume ID`.
    """
    import uuid

    from planner import auth, plan
    from planner.plan import runner
    from planner.store import GenerationStore

    plan.GenerationRequest(
        description, uuid.UUID(int=0), strategy, faults, speed, seed=seed
    ).validated()
    db = _database()
    store = GenerationStore(db)
    store.prepare()
    user = auth.get_user(db, username) if username else auth.get_or_create_local_user(db)
    spec = runner.create(
        store, plan.GenerationRequest(description, user.id, strategy, faults, speed, seed=seed)
    )
    _finish_generation(
        lambda bus: runner.execute(store, spec, bus=bus), spec.generation_id, as_json
    )


@main.command("resume")
@click.argument("generation_id")
@click.option("--json", "as_json", is_flag=True, help="Print the result object on stdout.")
def resume(generation_id: str, as_json: bool) -> None:
    """Continue an interrupted generation from its last checkpoint.

    The continuation asks the model for the rest of the answer after the stored text, so
    the plan is the one the uninterrupted generation would have produced.
    """
    import uuid

    from planner import plan
    from planner.store import GenerationStatus

    try:
        gid = uuid.UUID(generation_id)
    except ValueError:
        raise InputError(f"{generation_id!r} is not a generation id (a UUID)") from None
    db = _database()
    plan.prepare(db)
    stored = plan.outcome_of(db, gid)
    if stored.status not in {GenerationStatus.INTERRUPTED, GenerationStatus.COMPLETED}:
        raise plan.GenerationNotResumable(
            f"generation {gid} is {stored.status}"
            + (f" ({stored.error})" if stored.error else "")
            + "; only interrupted generations can be resumed"
        )
    _finish_generation(lambda bus: plan.resume_generation(db, gid, bus=bus), gid, as_json)


def _finish_generation(run, generation_id, as_json: bool) -> None:  # noqa: ANN001
    """Run with a progress bar, then report: JSON or a summary; exit 0 only if completed."""
    import json

    from planner.events import default_bus
    from planner.plan.terminal import TerminalProgress
    from planner.realtime import publishing

    bus = default_bus()
    try:
        # With PLANNER_REDIS_URL, every Socket.IO node sees this generation.
        with publishing(bus), TerminalProgress(bus, generation_id):
            outcome = run(bus)
    except KeyboardInterrupt:
        _stop(f"interrupted; continue with `planner resume {generation_id}`", 130)
    if as_json:
        click.echo(json.dumps(outcome.to_json(), indent=2))
    if not outcome.completed:
        _stop(f"generation {generation_id} {outcome.status}: {outcome.error}", 1)
    if not as_json:
        click.echo(
            f"completed: {outcome.phases} phases, {outcome.milestones} milestones, "
            f"{outcome.tasks} tasks, {outcome.subtasks} subtasks "
            f"(tier {outcome.tier}, {outcome.attempts} attempts, {outcome.duration_s:.1f} s)\n"
            f"generation {outcome.generation_id}\nmasterplan {outcome.masterplan_id}"
        )


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
    from planner.plan import GenerationService
    from planner.realtime import RedisTarget, serve_forever

    redis_url = redis_url or get_settings().redis_url
    if redis_url:
        try:
            RedisTarget.parse(redis_url)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    db = _database()
    db.ensure_schema()
    service = GenerationService(db)
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
        service.shutdown(cancel=True)


@main.command("experiment")
@click.option(
    "--faults",
    default="",
    help="Comma-separated fault specs: profile names (drop-at-90, flaky, ...) or JSON lists.",
)
@click.option("--strategies", required=True, help="Comma-separated: none, hybrid, restart, resume.")
@click.option("--repeats", default=1, show_default=True, type=int, help="Runs per cell.")
@click.option(
    "--concurrency", default=1, show_default=True, type=int, help="Generations at a time."
)
@click.option(
    "--speed",
    default=100.0,
    show_default=True,
    type=float,
    help="Simulator clock factor (100 = a 2-minute stream in about 1 s). Far "
    "above 100 the client is CPU-bound and time ratios get noisy.",
)
@click.option(
    "--seed",
    default=0,
    show_default=True,
    type=int,
    help="Experiment seed: the same seed gives the same outcomes.",
)
@click.option(
    "--from-generation",
    "from_generation",
    default=None,
    help="Also replay the failures recorded in this generation as a fault spec.",
)
@click.option(
    "--description",
    default=None,
    help="Project description every run plans (default: a bookshop, or the "
    "--from-generation source's).",
)
@click.option("--name", default="", help="A name to find the experiment by.")
@click.option(
    "--json", "as_json", is_flag=True, help="Print the experiment id and summary as JSON on stdout."
)
def experiment(
    faults: str,
    strategies: str,
    repeats: int,
    concurrency: int,
    speed: float,
    seed: int,
    from_generation: str | None,
    description: str | None,
    name: str,
    as_json: bool,
) -> None:
    """Run a failure-mode experiment: every fault x strategy, REPEATS times.

    Each run is a real generation against the simulator with a seed derived from --seed
    and the repeat number (shared by every cell, so strategies face the same plans), plus
    a fault-free baseline run per strategy and seed. Results are stored (experiments,
    experiment_runs) and summarised per strategy x fault: success rate, median and p95
    time / fault-free time (the wall time of the model calls, against the fault-free
    runs of the same seed), output tokens / final tokens, and how the runs ended (tiers).
    """
    import json
    import uuid

    from rich.console import Console

    from planner.events import default_bus
    from planner.experiment_report import ExperimentProgress, summary_table
    from planner.experiments import (
        ExperimentConfig,
        ExperimentError,
        run_experiment,
        split_faults,
    )
    from planner.realtime import publishing

    try:
        source = uuid.UUID(from_generation) if from_generation else None
    except ValueError:
        raise ExperimentError(
            f"--from-generation {from_generation!r} is not a generation id"
        ) from None
    config = ExperimentConfig(
        faults=tuple(split_faults(faults)),
        strategies=tuple(s.strip() for s in strategies.split(",") if s.strip()),
        repeats=repeats,
        concurrency=concurrency,
        speed=speed,
        seed=seed,
        description=description,
        from_generation_id=source,
        name=name,
    )
    err = Console(stderr=True, highlight=False)
    db = _database()
    db.ensure_schema()
    config = config.validated(db)
    try:
        with publishing(default_bus()), ExperimentProgress(err) as progress:
            result = run_experiment(db, config, on_start=progress.on_start, on_run=progress.on_run)
    except KeyboardInterrupt:
        _stop("experiment interrupted: finished runs are stored, the rest cancelled", 130)
    summary = result.summary(db)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "experiment_id": str(result.experiment_id),
                    "status": result.status,
                    "summary": json.loads(summary.to_json(orient="records")),
                },
                indent=2,
            )
        )
        return
    out = Console(highlight=False)
    if not out.is_terminal:  # a file or pipe: no wrapping to 80 columns
        out = Console(highlight=False, width=160)
    out.print(summary_table(summary, title=f"experiment {result.experiment_id} ({result.status})"))


@main.command("replay")
@click.argument("generation_id")
@click.option(
    "--speed",
    default=1.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Pace factor: 10 replays ten times faster than recorded.",
)
@click.option(
    "--socketio",
    is_flag=True,
    help="Publish the events to the generation's Socket.IO room instead of the terminal.",
)
@click.option(
    "--redis",
    "redis_url",
    default=None,
    help="The Socket.IO server's Redis URL for --socketio (default: PLANNER_REDIS_URL).",
)
def replay(generation_id: str, speed: float, socketio: bool, redis_url: str | None) -> None:
    """Replay a stored generation's chunk timeline and events at the recorded pace.

    On the terminal: the text as it streamed, recovery notices and lifecycle lines.
    With --socketio: the stored events, with their original seq, go to the generation's
    room on every Socket.IO node listening on the Redis message queue (--redis or
    PLANNER_REDIS_URL); a client that already saw them must reset its last seen seq.
    """
    from planner import replay as replaying

    recording = replaying.load_recording(_database(), generation_id)
    try:
        sink = replaying.SocketIOSink(redis_url) if socketio else None
    except ValueError as exc:
        raise replaying.ReplayError(str(exc)) from None
    click.echo(
        f"replaying {recording.generation_id} ({recording.status}, tier {recording.tier}, "
        f"{len(recording.events)} events, {len(recording.chunks)} chunks, "
        f"{recording.span_ms / 1000:.2f} s recorded) at {speed:g}x",
        err=True,
    )
    if sink is not None:
        report = replaying.replay(recording, sink, speed=speed, kinds=("event",))
        sink.close()
    else:
        has_text = any(e.name == "masterplan_text_delta" for e in recording.events)
        terminal = replaying.TerminalSink(show_chunks=not has_text)
        report = replaying.replay(recording, terminal, speed=speed)
        terminal.close()
    click.echo(
        f"replayed {report.events} events and {report.chunks} chunks in {report.elapsed_s:.2f} s",
        err=True,
    )


@main.command("export")
@click.argument("directory")
@click.option("--overwrite", is_flag=True, help="Replace Parquet files already in DIRECTORY.")
@click.option(
    "--batch-rows",
    default=50_000,
    show_default=True,
    type=int,
    help="Rows read and written at a time (memory stays bounded on big chunk tables).",
)
def export(directory: str, overwrite: bool, batch_rows: int) -> None:
    """Export generations, attempts, chunks, events and experiments as Parquet into DIRECTORY.

    One file per table (generations, generation_attempts, generation_chunks,
    generation_events, experiments, experiment_runs); prints each table's row count.
    """
    from planner.export import ExportedTable, export_parquet

    def report(done: ExportedTable) -> None:
        click.echo(f"{done.table:<20} {done.rows:>10} rows  {done.path}")

    exported = export_parquet(
        _database(), directory, overwrite=overwrite, batch_rows=batch_rows, on_table=report
    )
    click.echo(f"exported {sum(e.rows for e in exported)} rows in {len(exported)} files", err=True)
