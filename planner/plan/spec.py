"""What a generation is (its stored parameters), where a resume continues, and how a run
ends early. Shared by the generator, the stage runner, the store and the service.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from planner.plan.schema import Discovery

CANCELLED_MESSAGE = "cancelled before it finished"


class GenerationFailed(Exception):
    def __init__(self, message: str, tier: str | None) -> None:
        super().__init__(message)
        self.message = message
        self.tier = tier


class GenerationCancelled(Exception):
    """Raised inside the client's chunk callback to stop a cancelled generation."""


@dataclass(frozen=True)
class GenerationSpec:
    """A generation's stored parameters: everything needed to run or resume it."""

    generation_id: uuid.UUID
    user_id: uuid.UUID
    description: str
    strategy: str
    faults: str
    model: str
    seed: int
    speed: float
    started_at: datetime


@dataclass(frozen=True)
class ResumePoint:
    """Where an interrupted generation continues."""

    discovery: Discovery | None
    discovery_id: uuid.UUID | None
    stage_text: str | None
    previous_attempts: int = 0
    previous_input_tokens: int = 0
    previous_output_tokens: int = 0
    previous_wasted_tokens: int = 0
