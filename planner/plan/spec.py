"""How a generation run ends early: a failure with its tier, or a cancel.

Both are raised inside the run (the cancel from the client's chunk callback) and caught
by `GenerationRun.execute`, which turns them into the outcome; a caller never sees them.
What a generation is and where a resume continues are the store's values
(`planner.store.GenerationSpec`, `ResumePoint`).
"""

from __future__ import annotations

from planner.errors import PlannerError

CANCELLED_MESSAGE = "cancelled before it finished"


class GenerationFailed(PlannerError):
    def __init__(self, message: str, tier: str | None) -> None:
        super().__init__(message)
        self.message = message
        self.tier = tier


class GenerationCancelled(PlannerError):
    """Raised inside the client's chunk callback to stop a cancelled generation."""
