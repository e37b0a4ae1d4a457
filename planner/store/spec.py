"""What the store says about a generation: its parameters, its stored state, where a
resume continues. Plain values, shared by the store and the generator above it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from planner.store.pending import Positions


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
    settings: dict[str, Any] | None = None
    """The request settings (planner.plan.settings), as stored; None: the model's defaults."""


@dataclass(frozen=True)
class StoredGeneration:
    """A generation's row as stored, with the counts of its saved plan (0 without one)."""

    spec: GenerationSpec
    status: str
    stage: str
    tier: str | None
    error: str | None
    masterplan_id: uuid.UUID | None
    duration_s: float | None
    attempts: int
    input_tokens: int
    output_tokens: int
    wasted_output_tokens: int
    cache_creation_input_tokens: int
    cache_read_input_tokens: int
    owner_pid: int | None
    owner_host: str | None
    plan_counts: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(("phases", "milestones", "tasks", "subtasks"), 0)
    )

    @property
    def generation_id(self) -> uuid.UUID:
        return self.spec.generation_id


@dataclass(frozen=True)
class ResumePoint:
    """Where an interrupted generation continues, and what it had already cost."""

    discovery_json: dict[str, Any] | None
    discovery_id: uuid.UUID | None
    stage_text: str | None
    previous_attempts: int = 0
    previous_input_tokens: int = 0
    previous_output_tokens: int = 0
    previous_wasted_tokens: int = 0
    positions: Positions = field(default_factory=Positions)


def spec_of(row: Any) -> GenerationSpec:
    return GenerationSpec(
        generation_id=row.id,
        user_id=row.user_id,
        description=row.description,
        strategy=row.strategy,
        faults=row.fault_spec,
        model=row.model,
        seed=row.seed,
        speed=row.speed,
        started_at=row.started_at,
        settings=row.settings,
    )


def stored_generation(row: Any) -> StoredGeneration:
    return StoredGeneration(
        spec=spec_of(row),
        status=row.status,
        stage=row.stage,
        tier=row.tier,
        error=row.error,
        masterplan_id=row.masterplan_id,
        duration_s=row.duration_s,
        attempts=row.attempts,
        input_tokens=row.input_tokens,
        output_tokens=row.output_tokens,
        wasted_output_tokens=row.wasted_output_tokens,
        cache_creation_input_tokens=row.cache_creation_input_tokens,
        cache_read_input_tokens=row.cache_read_input_tokens,
        owner_pid=row.owner_pid,
        owner_host=row.owner_host,
    )
