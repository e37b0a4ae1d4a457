"""The `planner` command: thin over the library; each command's --help is its manual.

One module per command (group) in this package; `planner.cli.base` maps errors to one
line and an exit code in one place and hands commands the run's database.
"""

from __future__ import annotations

import importlib

import click

from planner.cli.base import PlannerGroup
from planner.logging import configure_logging

# Each command's module is imported when the command runs (click's lazy-loading recipe):
# `planner db upgrade` need not load the SDK, the simulator and every library a contender
# wraps, which is most of a second of every start.
COMMANDS = {
    "dashboard": "planner.cli.dashboard:dashboard",
    "db": "planner.cli.db:db_group",
    "experiment": "planner.cli.experiment:experiment",
    "export": "planner.cli.export:export",
    "generate": "planner.cli.generation:generate",
    "replay": "planner.cli.replay:replay",
    "resume": "planner.cli.generation:resume",
    "serve": "planner.cli.serve:serve",
    "sim": "planner.cli.sim:sim",
    "stats": "planner.cli.stats:stats",
    "token": "planner.cli.users:token",
    "users": "planner.cli.users:users_group",
    "worker": "planner.cli.worker:worker",
}


class LazyGroup(PlannerGroup):
    """A group whose commands (`COMMANDS`: name -> "module:attribute") load on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module, _, attribute = COMMANDS[cmd_name].partition(":")
            command = getattr(importlib.import_module(module), attribute)
            if command.name != cmd_name:
                raise RuntimeError(f"{COMMANDS[cmd_name]} is named {command.name!r}")
            self.add_command(command)
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
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


__all__ = ["COMMANDS", "main"]
