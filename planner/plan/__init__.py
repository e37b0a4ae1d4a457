"""MasterPlan generation: prompts, parsing, the generator, the run API and the service.

Front ends use `run_generation(db, request)` / `resume_generation(db, id)` (synchronous)
or a `GenerationService(db)` (background); every generation is recorded the same way,
through the generation store (`planner.store`), whoever starts it.
"""

from planner.plan.parse import PlanParseError, parse_discovery, parse_masterplan
from planner.plan.request import GenerationOutcome, GenerationRequest, GenerationRequestError
from planner.plan.runner import outcome_of, prepare, resume_generation, run_generation
from planner.plan.service import GenerationService, TooManyGenerations
from planner.store import GenerationNotFound, GenerationNotResumable

__all__ = [
    "GenerationNotFound",
    "GenerationNotResumable",
    "GenerationOutcome",
    "GenerationRequest",
    "GenerationRequestError",
    "GenerationService",
    "PlanParseError",
    "TooManyGenerations",
    "outcome_of",
    "parse_discovery",
    "parse_masterplan",
    "prepare",
    "resume_generation",
    "run_generation",
]
