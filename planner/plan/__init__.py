"""MasterPlan generation: prompts, parsing, the generator, its recording and the service.

Front ends use `run_generation` / `resume_generation` (synchronous) or the
`GenerationService` (background, `default_service()`); every generation is recorded the
same way, whoever starts it.
"""

from planner.plan.parse import PlanParseError, parse_discovery, parse_masterplan
from planner.plan.request import GenerationOutcome, GenerationRequest, GenerationRequestError
from planner.plan.runner import prepare_database, resume_generation, run_generation
from planner.plan.service import GenerationService, default_service
from planner.plan.stored import GenerationNotFound, GenerationNotResumable, outcome_of

__all__ = [
    "GenerationNotFound",
    "GenerationNotResumable",
    "GenerationOutcome",
    "GenerationRequest",
    "GenerationRequestError",
    "GenerationService",
    "PlanParseError",
    "default_service",
    "outcome_of",
    "parse_discovery",
    "parse_masterplan",
    "prepare_database",
    "resume_generation",
    "run_generation",
]
