"""`planner dashboard`: the Streamlit dashboard from the installed package, local by default.

It runs the package's own ASGI app (planner/dashboard/asgi.py: the dashboard script
planner/dashboard/app.py, whose `.streamlit/config.toml` beside it holds the theme, plus
the route that sets the HttpOnly refresh cookie), so it works from any directory, not
only from a checkout. It
binds 127.0.0.1 unless told otherwise: with sign-up on, anyone who can reach the port can
make an account and spend the configured model's tokens.
"""

from __future__ import annotations

import os
import sys
from importlib.resources import files

import click

from planner.cli.base import PlannerCommand

# Found without importing it: importing Streamlit would slow every other `planner` command.
APP_SCRIPT = files("planner.dashboard") / "asgi.py"


def streamlit_argv(host: str, port: int) -> list[str]:
    """The command that serves the dashboard on host:port with this interpreter's Streamlit."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP_SCRIPT),
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
    ]


@click.command("dashboard", cls=PlannerCommand)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; 0.0.0.0 exposes the dashboard (and its sign-up) to the network.",
)
@click.option("--port", default=8501, show_default=True, type=click.IntRange(1, 65535))
def dashboard(host: str, port: int) -> None:
    """Serve the dashboard (Streamlit) on http://HOST:PORT until Ctrl-C.

    It migrates the database on start, hosts the Socket.IO endpoint (PLANNER_SOCKETIO_PORT)
    and, without ANTHROPIC_API_KEY, the embedded simulator.
    """
    click.echo(f"planner dashboard on http://{host}:{port}", err=True)
    argv = streamlit_argv(host, port)
    os.execv(argv[0], argv)  # Streamlit owns the process from here (signals, exit code)
