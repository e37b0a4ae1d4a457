"""A generation's status, in one place: what the `generations.status` column may hold.

`queued` (stored, waiting for a runner), `running`, and three ends: `completed` (the plan
is stored), `failed` (it ended without a plan; the error says why) and `interrupted` (its
process stopped; `planner resume` continues it from its checkpoint). Statuses are
`str` values, so they compare equal to the column's text and serialise as it.
"""

from __future__ import annotations

from enum import StrEnum


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

__all__ = ["FINISHED_STATUSES", "LIVE_STATUSES", "GenerationStatus"]
