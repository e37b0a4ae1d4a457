"""Replay a stored generation: its events and chunk timeline, at the recorded pace.

A recorded generation is a list of timed steps: every stored event (at its `created_at`
relative to the generation's start) and every chunk (at its `t_ms`). `replay()` walks
them against an absolute schedule (`start + t / speed`), so sleeping late once never
accumulates drift, and hands each step to a sink: the terminal (text as it streamed,
recovery notices), an event bus (`planner.events`), or anything with `emit(step)`.
Clock and sleep are parameters, so tests replay without real waiting.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from planner.config import get_settings
from planner.db import Database, Generation, GenerationChunk, GenerationEvent
from planner.errors import InputError, NotFoundError
from planner.events import EventBus, EventMessage


class ReplayError(InputError, LookupError):
    """The replay cannot run as asked (not a generation id, no Redis to publish to)."""


class RecordingNotFound(NotFoundError, ReplayError):
    """There is no such generation to replay."""


@dataclass(frozen=True)
class ChunkStep:
    attempt: int
    seq: int
    stage: str
    char_offset: int
    chars: int


@dataclass(frozen=True)
class ReplayStep:
    """One thing that happened, `t_ms` after the generation started."""

    t_ms: int
    kind: Literal["event", "chunk"]
    event: EventMessage | None = None
    chunk: ChunkStep | None = None


@dataclass(frozen=True)
class RecordedGeneration:
    generation_id: uuid.UUID
    description: str
    strategy: str
    fault_spec: str
    status: str
    tier: str | None
    duration_s: float | None
    steps: list[ReplayStep] = field(default_factory=list)

    @property
    def events(self) -> list[EventMessage]:
        return [s.event for s in self.steps if s.event is not None]

    @property
    def chunks(self) -> list[ChunkStep]:
        return [s.chunk for s in self.steps if s.chunk is not None]

    @property
    def span_ms(self) -> int:
        return self.steps[-1].t_ms if self.steps else 0


def _ms_between(start: datetime, moment: datetime) -> int:
    return max(0, round((moment - start).total_seconds() * 1000))


def load_recording(db: Database, generation_id: uuid.UUID | str) -> RecordedGeneration:
    """Read a generation's events and chunks as one time-ordered list of steps."""
    try:
        key = uuid.UUID(str(generation_id))
    except ValueError:
        raise ReplayError(f"{generation_id!r} is not a generation id (a UUID)") from None
    db.ensure_schema()

    def read(session: Session) -> RecordedGeneration:
        generation = session.get(Generation, key)
        if generation is None:
            raise RecordingNotFound(f"no generation {key} in the database")
        events = session.scalars(
            select(GenerationEvent)
            .where(GenerationEvent.generation_id == key)
            .order_by(GenerationEvent.seq)
        ).all()
        chunks = session.scalars(
            select(GenerationChunk)
            .where(GenerationChunk.generation_id == key)
            .order_by(GenerationChunk.seq)
        ).all()
        return RecordedGeneration(
            generation_id=key,
            description=generation.description,
            strategy=generation.strategy,
            fault_spec=generation.fault_spec,
            status=generation.status,
            tier=generation.tier,
            duration_s=generation.duration_s,
            steps=_steps(generation.started_at, events, chunks),
        )

    return db.in_session(read)


def _steps(
    started_at: datetime, events: Iterable[GenerationEvent], chunks: Iterable[GenerationChunk]
) -> list[ReplayStep]:
    steps: list[ReplayStep] = []
    floor = 0
    for row in events:
        # Events keep their seq order even if two timestamps came out of order.
        floor = max(floor, _ms_between(started_at, row.created_at))
        message = EventMessage(row.generation_id, row.seq, row.name, dict(row.payload))
        steps.append(ReplayStep(floor, "event", event=message))
    for row in chunks:
        chunk = ChunkStep(row.attempt, row.seq, row.stage, row.char_offset, row.chars)
        steps.append(ReplayStep(row.t_ms, "chunk", chunk=chunk))
    # Stable sort: at equal times events come before chunks, each in its own order.
    steps.sort(key=lambda step: step.t_ms)
    return steps


class ReplaySink(Protocol):
    def emit(self, step: ReplayStep) -> None: ...


@dataclass
class BusSink:
    """Publishes the replayed events on an event bus (chunks have no event of their own)."""

    bus: EventBus

    def emit(self, step: ReplayStep) -> None:
        if step.event is not None:
            self.bus.publish(step.event)


class SocketIOSink:
    """The replayed events, to the generation's Socket.IO room on every node.

    A separate process (this CLI) reaches the Socket.IO server only through its Redis
    message queue, so this needs a Redis URL (`PLANNER_REDIS_URL` by default); it uses
    `planner.realtime`'s publisher, which addresses the same room as live events.
    """

    def __init__(self, redis_url: str | None = None) -> None:
        from planner.realtime.publisher import attach_publisher

        url = redis_url or get_settings().redis_url
        if not url:
            raise ReplayError(
                "replaying to Socket.IO needs the server's Redis message queue: "
                "set PLANNER_REDIS_URL (or pass --redis URL)"
            )
        self.bus = EventBus()
        publisher = attach_publisher(self.bus, url)
        assert publisher is not None
        self.publisher = publisher

    def emit(self, step: ReplayStep) -> None:
        if step.event is not None:
            self.bus.publish(step.event)

    def close(self) -> None:
        """Return once every replayed event has gone out to Redis."""
        from planner.realtime.publisher import detach_publisher

        detach_publisher(self.publisher)


@dataclass
class CallbackSink:
    callback: Callable[[ReplayStep], Any]

    def emit(self, step: ReplayStep) -> None:
        self.callback(step)


@dataclass(frozen=True)
class ReplayReport:
    steps: int
    events: int
    chunks: int
    recorded_ms: int
    elapsed_s: float
    max_lateness_ms: float


def replay(
    recording: RecordedGeneration,
    sink: ReplaySink,
    *,
    speed: float = 1.0,
    kinds: Iterable[str] = ("event", "chunk"),
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> ReplayReport:
    """Emit every step at `t_ms / speed` after the start; returns timing figures."""
    if not speed > 0:
        raise ValueError(f"speed must be greater than 0, not {speed}")
    wanted = set(kinds)
    steps = [s for s in recording.steps if s.kind in wanted]
    started = clock()
    lateness = 0.0
    for step in steps:
        due = started + step.t_ms / 1000 / speed
        wait = due - clock()
        if wait > 0:
            sleep(wait)
        lateness = max(lateness, (clock() - due) * 1000)
        sink.emit(step)
    return ReplayReport(
        steps=len(steps),
        events=sum(s.kind == "event" for s in steps),
        chunks=sum(s.kind == "chunk" for s in steps),
        recorded_ms=steps[-1].t_ms if steps else 0,
        elapsed_s=clock() - started,
        max_lateness_ms=lateness,
    )


class TerminalSink:
    """Text as it streamed, with recovery notices and lifecycle lines between it.

    Chunk steps only carry positions, not text: shown (as one dot each) only when the
    recording has no text deltas to show instead.
    """

    def __init__(self, console: Any = None, *, show_chunks: bool = False) -> None:
        from rich.console import Console

        self.console = console or Console(highlight=False)
        self.show_chunks = show_chunks
        self._mid_line = False
        self._attempt = 0

    def _line(self, text: str, style: str) -> None:
        if self._mid_line:
            self.console.out("")
            self._mid_line = False
        self.console.print(text, style=style, markup=False, soft_wrap=True)

    def emit(self, step: ReplayStep) -> None:
        if step.chunk is not None:
            if self.show_chunks:
                if step.chunk.attempt != self._attempt:
                    self._attempt = step.chunk.attempt
                    self._line(f"[attempt {self._attempt}, {step.chunk.stage}]", "dim")
                self.console.out(".", end="")
                self._mid_line = True
            return
        assert step.event is not None
        name, payload = step.event.name, step.event.payload
        line = describe_event(name, payload)
        if name == "masterplan_text_delta":
            text = str(payload.get("text", ""))
            self.console.out(text, end="", highlight=False)
            self._mid_line = not text.endswith("\n")
        elif line is not None:
            style = "bold yellow" if name == "masterplan_recovery" else "cyan"
            if name == "masterplan_generation_error":
                style = "bold red"
            self._line(line, style)

    def close(self) -> None:
        if self._mid_line:
            self.console.out("")
            self._mid_line = False


def describe_event(name: str, payload: dict[str, Any]) -> str | None:
    """One human line for a lifecycle event; None for progress and text deltas."""
    get = payload.get
    if name == "masterplan_generation_start":
        return (
            f"> generation started: strategy {get('strategy', '?')}, "
            f"faults {get('faults', 'none')}, stage {get('stage', '?')}"
        )
    if name == "masterplan_recovery":
        return (
            f"~ recovery (attempt {get('attempt')}): {get('reason') or 'a failure'}; "
            f"tier {get('tier')}, continuing from char {get('resume_from_char', 0)}"
        )
    if name == "masterplan_parsing_complete":
        return (
            f"> parsed: {get('total_phases', 0)} phases, {get('total_milestones', 0)} "
            f"milestones, {get('total_tasks', 0)} tasks"
        )
    if name == "masterplan_validation_start":
        return "> validating"
    if name == "masterplan_saving_start":
        return f"> saving {get('total_entities', 0)} entities"
    if name == "masterplan_generation_complete":
        return (
            f"= completed in {float(get('duration_seconds', 0.0)):.2f} s, "
            f"{get('output_tokens', 0)} output tokens, {get('total_tasks', 0)} tasks"
        )
    if name == "masterplan_generation_error":
        return f"! failed ({get('tier') or 'no tier'}): {get('message', '')}"
    return None
