"""What a recording holds between two batches, and where a reopened one's numbering goes on.

`Batch` is everything handed over since the last take: the writer takes it whole, writes
it in one transaction, or gives it back in front of what came meanwhile. `Positions` is
what a resume reads from the stored rows so the numbering continues without a gap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from planner.store.batch import EventRow
from planner.store.checkpoints import CheckpointState
from planner.store.chunkqueue import TakenChunks

RowWrite = Callable[[Connection], None]
"""Rows written in a batch's transaction (the discovery document, the saved plan)."""


@dataclass(frozen=True)
class Positions:
    """Where a generation's numbering continues (all 1 and empty for a new one)."""

    next_chunk_seq: int = 1
    next_event_seq: int = 1
    next_checkpoint_seq: int = 1
    stored_attempts: frozenset[int] = frozenset()
    checkpoint: CheckpointState | None = None


@dataclass
class Batch:
    """One batch of a recording: rows to insert, attempts to upsert, row values."""

    chunks: TakenChunks | None = None
    events: list[EventRow] = field(default_factory=list)
    attempts: dict[int, dict[str, Any]] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    rows: list[RowWrite] = field(default_factory=list)
    checkpoint: CheckpointState | None = None

    def __bool__(self) -> bool:
        return bool(self.chunks or self.events or self.attempts or self.values or self.rows) or (
            self.checkpoint is not None
        )

    def take_back(self, failed: Batch) -> None:
        """A failed write's rows (not its chunks: the queue keeps those) go back in front
        of what was handed over since."""
        self.events = failed.events + self.events
        self.attempts = {
            **failed.attempts,
            **{n: {**failed.attempts.get(n, {}), **v} for n, v in self.attempts.items()},
        }
        self.values = {**failed.values, **self.values}
        self.rows = failed.rows + self.rows
        if self.checkpoint is None and failed.checkpoint is not None:
            self.checkpoint = failed.checkpoint
