"""`planner sim`: the Anthropic-compatible simulator as a server of its own."""

from __future__ import annotations

import click

from planner.cli.base import PlannerCommand
from planner.errors import PlannerError


@click.command("sim", cls=PlannerCommand)
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
    Fault types: reset, sse_error, eof, stall, http_error (402, 409, 413, 429, 500,
    503, 504, 529), latency, bandwidth, cutoff, corrupt, refusal, continuation (how a
    continuation turn is written). Per request: headers x-planner-faults,
    x-planner-run, x-planner-seed, x-planner-speed.
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
