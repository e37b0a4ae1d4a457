"""What a caller asks for (`GenerationRequest`) and what it gets back (`GenerationOutcome`).

`GenerationRequest.validated()` refuses bad input before anything is stored, each
problem in words a user can act on, and carries the fault spec on in its canonical text
(`FaultSpec.text`, parsed here once); the CLI, the dashboard and the Socket.IO endpoint all
show the same messages. `GenerationOutcome.to_json()` is the result object of DESIGN.md
(`planner generate --json`).
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field, replace
from typing import Any

from planner.errors import InputError
from planner.llm import DEFAULT_STRATEGY, STRATEGIES
from planner.plan.cache import PromptCacheLedger
from planner.plan.settings import GenerationSettings
from planner.sim import FaultSpec, FaultSpecError, parse_fault_spec
from planner.store import GenerationStatus, StoredGeneration

MAX_DESCRIPTION_CHARS = 20_000
MAX_SPEED = 1_000_000.0
MAX_SEED = 2**31 - 1
MAX_MODEL_CHARS = 128  # generations.model is VARCHAR(128): refused here, not by the database


class GenerationRequestError(InputError, ValueError):
    """The request cannot run; the message lists every problem found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def model_problem(model: object) -> str | None:
    """What is wrong with a model name (None: nothing), in words a user can act on."""
    if not isinstance(model, str) or not model.strip():
        return "the model name is empty"
    if len(model) > MAX_MODEL_CHARS:
        return (
            f"the model name has {len(model):,} characters; the limit is {MAX_MODEL_CHARS} "
            "(a name from the catalogue, e.g. claude-sonnet-5-5)"
        )
    return None


@dataclass(frozen=True)
class GenerationRequest:
    description: str
    user_id: uuid.UUID
    strategy: str = DEFAULT_STRATEGY
    faults: str | FaultSpec = "none"  # validated() gives the canonical text
    speed: float = 1.0
    model: str | None = None
    seed: int = 0
    settings: GenerationSettings | None = None
    """Thinking, effort, format and budget per stage; None: planner's defaults for the model."""

    def fault_spec(self) -> FaultSpec:
        """The parsed fault spec (FaultSpecError names what is wrong with it)."""
        return parse_fault_spec(self.faults)

    def problems(self) -> list[str]:
        """Everything wrong with the request, in words a user can act on."""
        return self._checked()[1]

    def _checked(self) -> tuple[FaultSpec | None, list[str]]:
        found: list[str] = []
        spec = None
        text = self.description.strip() if isinstance(self.description, str) else ""
        if not text:
            found.append("the project description is empty; describe the project to plan")
        elif len(text) > MAX_DESCRIPTION_CHARS:
            found.append(
                f"the project description has {len(text):,} characters; the limit is "
                f"{MAX_DESCRIPTION_CHARS:,} (summarise it)"
            )
        if self.strategy not in STRATEGIES:
            found.append(
                f"unknown strategy {self.strategy!r}; choose one of {', '.join(STRATEGIES)}"
            )
        try:
            spec = self.fault_spec()
        except FaultSpecError as exc:
            found.append(f"bad fault spec: {exc}")
        speed = self.speed
        if isinstance(speed, bool) or not isinstance(speed, int | float) or math.isnan(speed):
            found.append(f"speed must be a number, not {speed!r}")
        elif speed < 0 or (speed > MAX_SPEED and not math.isinf(speed)):
            found.append(
                f"speed {speed:g} is out of range; use a factor above 0 and up to "
                f"{MAX_SPEED:,.0f} (1 = real time), or 0 for unlimited"
            )
        if (
            isinstance(self.seed, bool)
            or not isinstance(self.seed, int)
            or not (0 <= self.seed <= MAX_SEED)
        ):
            found.append(f"seed must be a whole number from 0 to {MAX_SEED}, not {self.seed!r}")
        if self.model is not None and (problem := model_problem(self.model)):
            found.append(problem)
        return spec, found

    def validated(self) -> GenerationRequest:
        """The request with the description trimmed and the fault spec in canonical text."""
        spec, problems = self._checked()
        if problems or spec is None:
            raise GenerationRequestError(problems)
        return replace(
            self,
            description=self.description.strip(),
            faults=spec.text,
            speed=float(self.speed),
        )


@dataclass
class GenerationOutcome:
    """The result object of DESIGN.md, plus the prompt cache and cost figures."""

    generation_id: uuid.UUID
    masterplan_id: uuid.UUID | None
    status: str
    strategy: str
    tier: str | None
    attempts: int
    output_tokens: int
    wasted_output_tokens: int
    duration_s: float
    phases: int
    milestones: int
    tasks: int
    subtasks: int
    error: str | None
    prompt_cache: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_stored(cls, stored: StoredGeneration) -> GenerationOutcome:
        """The result object of a stored generation (finished or not)."""
        counts = stored.plan_counts
        return cls(
            generation_id=stored.generation_id,
            masterplan_id=stored.masterplan_id,
            status=stored.status,
            strategy=stored.spec.strategy,
            tier=stored.tier,
            attempts=stored.attempts,
            output_tokens=stored.output_tokens,
            wasted_output_tokens=stored.wasted_output_tokens,
            duration_s=stored.duration_s or 0.0,
            phases=counts["phases"],
            milestones=counts["milestones"],
            tasks=counts["tasks"],
            subtasks=counts["subtasks"],
            error=stored.error,
            settings=GenerationSettings.from_json(stored.spec.settings).to_json(),
            prompt_cache=PromptCacheLedger(
                stored.spec.model,
                input_tokens=stored.input_tokens,
                cache_creation_input_tokens=stored.cache_creation_input_tokens,
                cache_read_input_tokens=stored.cache_read_input_tokens,
                output_tokens=stored.output_tokens,
            ).to_json(),
        )

    @property
    def completed(self) -> bool:
        return self.status == GenerationStatus.COMPLETED

    def to_json(self) -> dict[str, Any]:
        return {
            "generation_id": str(self.generation_id),
            "masterplan_id": str(self.masterplan_id) if self.masterplan_id else None,
            "status": self.status,
            "strategy": self.strategy,
            "tier": self.tier,
            "attempts": self.attempts,
            "output_tokens": self.output_tokens,
            "wasted_output_tokens": self.wasted_output_tokens,
            "duration_s": round(self.duration_s, 3),
            "phases": self.phases,
            "milestones": self.milestones,
            "tasks": self.tasks,
            "subtasks": self.subtasks,
            "error": self.error,
            "prompt_cache": self.prompt_cache,
            "settings": self.settings,
        }
