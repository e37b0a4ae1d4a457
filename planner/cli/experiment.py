"""`planner experiment`: a failure-mode experiment, stored and printed."""

from __future__ import annotations

import click

from planner.cli.base import PlannerCommand, database, stop
from planner.contenders import CONTENDER, INSTALL_HINT, REGISTRY, RUN_CHOICES


def _choices_epilog() -> str:
    """Every name --strategies takes, with its one line (click keeps `\b` blocks as they are)."""
    width = max(map(len, RUN_CHOICES))
    lines = ["\b", "Strategies and contenders (--strategies):"]
    for kind, title in (("strategy", "planner's strategies"), (CONTENDER, "contenders")):
        lines.append(f"  {title}:")
        lines += [
            f"    {c.name:<{width}}  {c.description}"
            for c in RUN_CHOICES.values()
            if c.kind == kind
        ]
    extra = [entry.name for entry in REGISTRY.values() if entry.needs]
    lines.append(f"  {', '.join(extra)} need the optional extra: {INSTALL_HINT}")
    return "\n".join(lines)


@click.command("experiment", cls=PlannerCommand, epilog=_choices_epilog())
@click.option(
    "--faults",
    default="",
    help="Comma-separated fault specs: profile names (drop-at-90, flaky, ...) or JSON lists.",
)
@click.option(
    "--strategies",
    default="",
    help="Comma-separated strategies and contenders (listed below), e.g. resume,sdk,oracle.",
)
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
@click.option("--model", default=None, help="Model every run asks for (default: PLANNER_MODEL's).")
@click.option(
    "--json", "as_json", is_flag=True, help="Print the experiment id and summary as JSON on stdout."
)
@click.option(
    "--oracle/--no-oracle",
    "add_oracle",
    default=True,
    show_default=True,
    help="Add the oracle to the strategies: the floor every strategy's distance is measured to.",
)
@click.option(
    "--follow",
    "follow_id",
    default=None,
    help="Follow an experiment already running (PostgreSQL: its runs are jobs) to its end.",
)
@click.option(
    "--stop",
    "stop_id",
    default=None,
    help="Stop an experiment on workers from anywhere: runs not yet begun are cancelled, "
    "those under way finish; it ends `interrupted`.",
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
    model: str | None,
    as_json: bool,
    add_oracle: bool,
    follow_id: str | None,
    stop_id: str | None,
) -> None:
    """Run a failure-mode experiment: every fault x strategy or contender, REPEATS times.

    A strategy's run is a real generation against the simulator; a contender's run asks
    the generation's same two requests through another library's documented recovery
    path. Every run uses a seed derived from --seed and the repeat number (shared by every
    cell, so all face the same plans and fault draws), plus a fault-free baseline run per
    strategy and seed. A run succeeds only when its final text equals the fault-free
    answer (a text returned as complete but cut short is a failure: silently truncated).
    Results are stored (experiments, experiment_runs, with each run's configuration and
    library versions) and summarised per strategy x fault: success rate with its 95%
    interval, median and p95 time / fault-free time, output tokens / final tokens, the
    distance to the oracle and how runs ended. The oracle is added unless --no-oracle.

    With PostgreSQL every run, a strategy's or a contender's, is a job that `planner
    worker`s share (--concurrency is then theirs); this command enqueues them and follows
    them, and if it is killed the runs go on: `planner experiment --follow ID` follows it
    again from anywhere.
    """
    import json
    import uuid

    from rich.console import Console

    from planner import jobs
    from planner.auth import get_or_create_local_user
    from planner.events import default_bus
    from planner.experiment_report import ExperimentProgress, summary_table
    from planner.experiments import (
        ExperimentConfig,
        ExperimentError,
        run_experiment,
        split_faults,
        with_the_oracle,
    )
    from planner.jobs.follow import follow_experiment
    from planner.realtime import publishing

    if stop_id is not None:
        _stop_experiment(stop_id)
        return
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
        model=model,
    )
    err = Console(stderr=True, highlight=False)
    db = database()
    db.ensure_schema()
    if follow_id is None:  # bad input is one line, before any progress display starts
        config = (with_the_oracle(config) if add_oracle else config).validated(db)
    on_workers = jobs.uses_jobs(db)
    try:
        with publishing(default_bus()), ExperimentProgress(err) as progress:
            if follow_id is not None or on_workers:
                if follow_id is not None:
                    try:
                        experiment_id = uuid.UUID(follow_id)
                    except ValueError:
                        raise ExperimentError(
                            f"--follow {follow_id!r} is not an experiment id"
                        ) from None
                else:
                    user = get_or_create_local_user(db)
                    experiment_id, _ = jobs.enqueue_experiment(
                        db, jobs.make_app(db), config, user.id
                    )
                result = follow_experiment(
                    db, experiment_id, on_start=progress.on_start, on_run=progress.on_run
                )
            else:
                result = run_experiment(
                    db, config, on_start=progress.on_start, on_run=progress.on_run
                )
    except KeyboardInterrupt:
        if follow_id is not None or on_workers:
            stop("stopped following; the runs go on in the workers (--follow ID)", 130)
        stop("experiment interrupted: finished runs are stored, the rest cancelled", 130)
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
        out = Console(highlight=False, width=240)
    out.print(summary_table(summary, title=f"experiment {result.experiment_id} ({result.status})"))


def _stop_experiment(stop_id: str) -> None:
    import uuid

    from planner import jobs
    from planner.auth import get_or_create_local_user
    from planner.experiments import ExperimentError

    try:
        experiment_id = uuid.UUID(stop_id)
    except ValueError:
        raise ExperimentError(f"--stop {stop_id!r} is not an experiment id") from None
    db = database()
    db.ensure_schema()
    stopped = jobs.stop_experiment(db, experiment_id, get_or_create_local_user(db).id)
    tail = (
        f"; {stopped.under_way} under way finish (--follow {experiment_id})"
        if stopped.under_way
        else ""
    )
    click.echo(f"experiment {experiment_id}: {stopped.cancelled} runs cancelled{tail}", err=True)
