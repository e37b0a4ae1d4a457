"""`planner experiment`: a failure-mode experiment, stored and printed."""

from __future__ import annotations

import click

from planner.cli.base import PlannerCommand, database, stop


@click.command("experiment", cls=PlannerCommand)
@click.option(
    "--faults",
    default="",
    help="Comma-separated fault specs: profile names (drop-at-90, flaky, ...) or JSON lists.",
)
@click.option("--strategies", default="", help="Comma-separated: none, hybrid, restart, resume.")
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
@click.option(
    "--follow",
    "follow_id",
    default=None,
    help="Follow an experiment already running (PostgreSQL: its runs are jobs) to its end.",
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
    follow_id: str | None,
) -> None:
    """Run a failure-mode experiment: every fault x strategy, REPEATS times.

    Each run is a real generation against the simulator with a seed derived from --seed
    and the repeat number (shared by every cell, so strategies face the same plans), plus
    a fault-free baseline run per strategy and seed. Results are stored (experiments,
    experiment_runs) and summarised per strategy x fault: success rate, median and p95
    time / fault-free time (the wall time of the model calls, against the fault-free
    runs of the same seed), output tokens / final tokens, and how the runs ended (tiers).

    With PostgreSQL every run is a job that `planner worker`s share (--concurrency is
    then theirs); this command enqueues them and follows them, and if it is killed the
    runs go on: `planner experiment --follow ID` follows it again from anywhere.
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
    )
    from planner.jobs.follow import follow_experiment
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
    db = database()
    db.ensure_schema()
    try:
        with publishing(default_bus()), ExperimentProgress(err) as progress:
            if follow_id is not None or jobs.uses_jobs(db):
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
                        db, jobs.make_app(db), config.validated(db), user.id
                    )
                result = follow_experiment(
                    db, experiment_id, on_start=progress.on_start, on_run=progress.on_run
                )
            else:
                result = run_experiment(
                    db, config.validated(db), on_start=progress.on_start, on_run=progress.on_run
                )
    except KeyboardInterrupt:
        if follow_id is not None or jobs.uses_jobs(db):
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
        out = Console(highlight=False, width=160)
    out.print(summary_table(summary, title=f"experiment {result.experiment_id} ({result.status})"))
