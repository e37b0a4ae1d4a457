"""Helpers of the durability tests: waiting on conditions with deadlines, what a
generation stored, and a bus subscriber that records every event it is given."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import select

from planner.db import Database, Generation, GenerationChunk, GenerationEvent, MasterPlanRow
from planner.events import EventBus, EventMessage

T = TypeVar("T")


def wait_for(
    condition: Callable[[], T | None],
    *,
    timeout_s: float = 90,
    what: str = "a condition",
    explain: Callable[[], str] | None = None,
) -> T:
    """Poll `condition` until it returns something truthy (the deadline is generous; the
    test passes as soon as the condition holds); `explain` adds what the failure needs.

    The pause between polls grows from 20 ms to 250 ms: most conditions read a database,
    and a read of a DuckDB file that no one holds open costs about 30 ms of CPU, which a
    fixed 50 ms poll would spend over and over while another process does the work."""
    deadline = time.monotonic() + timeout_s
    pause = 0.02
    while time.monotonic() < deadline:
        try:
            value = condition()
        except Exception:  # noqa: BLE001 (a database another process holds, a table not yet made)
            value = None
        if value:
            return value
        time.sleep(pause)
        pause = min(pause * 1.5, 0.25)
    detail = f"\n{explain()}" if explain is not None else ""
    raise AssertionError(f"timed out waiting for {what}{detail}")


def masterplan_checkpoint(db: Database, minimum_chars: int) -> uuid.UUID | None:
    """A running generation whose MasterPlan checkpoint has at least `minimum_chars`."""
    rows = db.read(
        lambda conn: conn.execute(
            select(Generation.id, Generation.checkpoint_stage, Generation.checkpoint_offset).where(
                Generation.status == "running"
            )
        ).all()
    )
    for gid, stage, offset in rows:
        if stage == "masterplan" and offset >= minimum_chars:
            return gid
    return None


def status_of(db: Database, generation_id: uuid.UUID) -> str:
    return db.read(
        lambda conn: conn.scalar(select(Generation.status).where(Generation.id == generation_id))
    )


def stored_events(db: Database, generation_id: uuid.UUID) -> list[tuple[int, str]]:
    return db.read(
        lambda conn: [
            tuple(row)
            for row in conn.execute(
                select(GenerationEvent.seq, GenerationEvent.name)
                .where(GenerationEvent.generation_id == generation_id)
                .order_by(GenerationEvent.seq)
            )
        ]
    )


def chunk_seqs(db: Database, generation_id: uuid.UUID) -> list[int]:
    return db.read(
        lambda conn: list(
            conn.scalars(
                select(GenerationChunk.seq)
                .where(GenerationChunk.generation_id == generation_id)
                .order_by(GenerationChunk.seq)
            )
        )
    )


def plans_of(db: Database, generation_id: uuid.UUID) -> list[dict[str, Any]]:
    """Every plan stored for the generation (exactly one when it completed once)."""
    return db.read(
        lambda conn: list(
            conn.scalars(
                select(MasterPlanRow.plan_json).where(MasterPlanRow.generation_id == generation_id)
            )
        )
    )


def assert_gap_free(seqs: list[int]) -> None:
    assert seqs == list(range(1, len(seqs) + 1)), seqs


class Heard:
    """Every event published on a bus, in the order delivered."""

    def __init__(self, bus: EventBus) -> None:
        self.bus = bus
        self.messages: list[EventMessage] = []
        self._lock = threading.Lock()
        self.handle = bus.subscribe(self._hear)

    def _hear(self, message: EventMessage) -> None:
        with self._lock:
            self.messages.append(message)

    def names(self, generation_id: uuid.UUID) -> list[str]:
        with self._lock:
            return [m.name for m in self.messages if m.generation_id == generation_id]

    def close(self) -> None:
        self.bus.unsubscribe(self.handle)
