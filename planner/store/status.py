"""A generation's status, in one place: what the `generations.status` column may hold.

`queued` (stored, waiting for a runner), `running`, and three ends: `completed` (the plan
is stored), `failed` (it ended without a plan; the error says why) and `interrupted` (its
process stopped; `planner resume` continues it from its checkpoint). Statuses are
`str` values, so they compare equal to the column's text and serialise as it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, update

from planner.db import Generation


class GenerationStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


LIVE_STATUSES = (GenerationStatus.RUNNING, GenerationStatus.QUEUED)
"""A runner has it (or will): the liveness scan looks for the dead among these."""

FINISHED_STATUSES = (
    GenerationStatus.COMPLETED,
    GenerationStatus.FAILED,
    GenerationStatus.INTERRUPTED,
)


def move(conn: Connection, generation_id: uuid.UUID, from_: Iterable[str], **values: Any) -> bool:
    """Write `values` to the generation if its status is still one of `from_`; whether it
    did. The status check and the write are one statement, so of two processes racing to
    move a generation (two sweepers, a sweep and the runner, two resumes) one wins."""
    moved = conn.execute(
        update(Generation)
        .where(Generation.id == generation_id)
        .where(Generation.status.in_(tuple(from_)))
        .values(**values)
    ).rowcount
    return moved == 1


__all__ = ["FINISHED_STATUSES", "LIVE_STATUSES", "GenerationStatus", "move"]
