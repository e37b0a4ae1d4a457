"""The `planner` command: thin over the library; each command's --help is its manual.

One module per command (group) in this package; `planner.cli.base` maps errors to one
line and an exit code in one place and hands commands the run's database.
"""

from __future__ import annotations

import click

from planner.cli.base import PlannerGroup
from planner.cli.dashboard import dashboard
from planner.cli.db import db_group
from planner.cli.experiment import experiment
from planner.cli.export import export
from planner.cli.generation import generate, resume
from planner.cli.replay import replay
from planner.cli.serve import serve
from planner.cli.sim import sim
from planner.cli.users import token, users_group
from planner.cli.worker import worker
from planner.logging import configure_logging


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


for command in (
    db_group,
    users_group,
    token,
    sim,
    generate,
    resume,
    serve,
    dashboard,
    experiment,
    replay,
    export,
    worker,
):
    main.add_command(command)

__all__ = ["main"]
