"""`planner replay`: a stored generation re-emitted at its recorded pace."""

from __future__ import annotations

import click

from planner.cli.base import PlannerCommand, database


@click.command("replay", cls=PlannerCommand)
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

    recording = replaying.load_recording(database(), generation_id)
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
