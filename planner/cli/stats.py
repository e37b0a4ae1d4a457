"""`planner stats`: fault success rates with n and 95% intervals, as the dashboard shows them.

The numbers come from `planner.analysis.fault_success_rates`, the function behind the
dashboard's statistics page and the notebooks, and are printed with the same
`format_rate`, so all three agree to the digit.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import click

from planner.cli.base import PlannerCommand, database
from planner.errors import InputError


@click.command("stats", cls=PlannerCommand)
@click.option("--user", "username", default="local", show_default=True, help="Whose runs.")
@click.option("--experiment", "experiment_id", default=None, help="Only this experiment's runs.")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), default=None, help="From this day.")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), default=None, help="To this day.")
@click.option("--model", "models", multiple=True, help="Only this model (repeatable).")
@click.option("--speed", "speeds", multiple=True, type=float, help="Only this speed (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per cell on stdout.")
def stats(
    username: str,
    experiment_id: str | None,
    since: datetime | None,
    until: datetime | None,
    models: tuple[str, ...],
    speeds: tuple[float, ...],
    as_json: bool,
) -> None:
    """Success rate per strategy × fault over the runs that ran to an outcome.

    Cancelled, interrupted and configuration failures are counted apart; a fault that
    never fired in a cell is flagged. Experiments' contender runs (other libraries'
    recovery paths, the oracle) follow the strategies, marked "(contender)"; --json says
    which in "kind".
    """
    from planner import analysis, auth
    from planner.analysis.stats import StatsFilter, format_rate, rate_label

    try:
        experiment = uuid.UUID(experiment_id) if experiment_id else None
    except ValueError:
        raise InputError(f"{experiment_id!r} is not an experiment id") from None
    filters = StatsFilter(
        experiment_id=experiment,
        since=since.date() if since else None,
        until=until.date() if until else None,
        models=models,
        speeds=speeds,
    )
    user = auth.get_user(database(), username)
    rates = analysis.fault_success_rates(database(), user.id, filters)
    if as_json:
        click.echo(rates.to_json(orient="records", lines=True), nl=False)
        return
    if rates.empty:
        click.echo("no finished generations match", err=True)
        return
    names = [rate_label(row) for row in rates.itertuples()]
    width = max(10, *(len(name) for name in names))
    for name, row in zip(names, rates.itertuples(), strict=True):
        apart = f"cancelled {row.cancelled}, interrupted {row.interrupted}, "
        apart += f"configuration {row.configuration}"
        flag = "  (fault never fired)" if row.never_fired else ""
        click.echo(f"{name:<{width}} {row.fault_spec:<16} {format_rate(row):<34} {apart}{flag}")
