"""`planner generate` and `planner resume`: one generation run in this process.

Both show a progress bar on stderr and, with --json, print DESIGN.md's result object.
"""

from __future__ import annotations

import click

from planner.cli.base import PlannerCommand, database, stop
from planner.errors import InputError


@click.command("generate", cls=PlannerCommand)
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
@click.option(
    "--thinking",
    default=None,
    help="model, off, adaptive or budget:N, for both stages or as "
    "discovery=VALUE,masterplan=VALUE (default: discovery thinks, the MasterPlan does not "
    "where the model allows).",
)
@click.option(
    "--effort",
    default=None,
    help="low, medium, high, xhigh or max, for both stages or per stage as --thinking.",
)
@click.option(
    "--output-format",
    type=click.Choice(["text", "json-schema"]),
    default="text",
    show_default=True,
    help="The answer as text planner validates, or constrained by the plan's JSON schema.",
)
@click.option(
    "--output-budget",
    type=click.IntRange(min=1),
    default=None,
    help="Output tokens the whole generation may spend across attempts (default: no cap).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result object on stdout.")
def generate(
    description: str,
    username: str | None,
    strategy: str,
    faults: str,
    speed: float,
    seed: int,
    thinking: str | None,
    effort: str | None,
    output_format: str,
    output_budget: int | None,
    as_json: bool,
) -> None:
    """Generate one MasterPlan from DESCRIPTION, with a progress bar on stderr.

    Exits 0 only when the plan was generated and stored. An interrupted generation
    (Ctrl-C, a killed process) is continued with `planner resume ID`.
    """
    import uuid

    from planner import auth, plan
    from planner.catalog import lookup
    from planner.config import get_settings
    from planner.plan import runner
    from planner.plan.settings import settings_from_options
    from planner.store import GenerationStore

    chosen = settings_from_options(
        lookup(get_settings().model),
        thinking=thinking,
        effort=effort,
        output_format=output_format,
        output_budget_tokens=output_budget,
    )
    plan.GenerationRequest(
        description, uuid.UUID(int=0), strategy, faults, speed, seed=seed, settings=chosen
    ).validated()
    db = database()
    store = GenerationStore(db)
    store.prepare()
    user = auth.get_user(db, username) if username else auth.get_or_create_local_user(db)
    request = plan.GenerationRequest(
        description, user.id, strategy, faults, speed, seed=seed, settings=chosen
    )
    spec = runner.create(store, request)
    finish_generation(lambda bus: runner.execute(store, spec, bus=bus), spec.generation_id, as_json)


@click.command("resume", cls=PlannerCommand)
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
    db = database()
    plan.prepare(db)
    stored = plan.outcome_of(db, gid)
    if stored.status not in {GenerationStatus.INTERRUPTED, GenerationStatus.COMPLETED}:
        raise plan.GenerationNotResumable(
            f"generation {gid} is {stored.status}"
            + (f" ({stored.error})" if stored.error else "")
            + "; only interrupted generations can be resumed"
        )
    finish_generation(lambda bus: plan.resume_generation(db, gid, bus=bus), gid, as_json)


def finish_generation(run, generation_id, as_json: bool) -> None:  # noqa: ANN001
    """Run with a progress bar, then report: JSON or a summary; exit 0 only if completed."""
    import json

    from planner.events import default_bus
    from planner.plan.sweep import Sweeper
    from planner.plan.terminal import TerminalProgress
    from planner.realtime import publishing

    bus = default_bus()
    # While it runs, this process also finds other generations whose runner died; it
    # resumes none itself (it exits when its own generation ends).
    sweeper = Sweeper(database(), bus=bus, resume=None).start()
    try:
        # With PLANNER_REDIS_URL, every Socket.IO node sees this generation.
        with publishing(bus), TerminalProgress(bus, generation_id):
            outcome = run(bus)
    except KeyboardInterrupt:
        stop(f"interrupted; continue with `planner resume {generation_id}`", 130)
    finally:
        sweeper.stop()
    if as_json:
        click.echo(json.dumps(outcome.to_json(), indent=2))
    if not outcome.completed:
        stop(f"generation {generation_id} {outcome.status}: {outcome.error}", 1)
    if not as_json:
        click.echo(
            f"completed: {outcome.phases} phases, {outcome.milestones} milestones, "
            f"{outcome.tasks} tasks, {outcome.subtasks} subtasks "
            f"(tier {outcome.tier}, {outcome.attempts} attempts, {outcome.duration_s:.1f} s)\n"
            f"generation {outcome.generation_id}\nmasterplan {outcome.masterplan_id}"
        )
