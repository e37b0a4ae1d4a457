"""MasterPlan generation: prompts, parsing, the generator, the run API and the service.

Front ends use `run_generation(db, request)` / `resume_generation(db, id)` (synchronous)
or a `GenerationService(db)` (background); every generation is recorded the same way,
through the generation store (`planner.store`), whoever starts it.

The names are loaded on first use: the simulator imports `planner.plan.prompts` and
`planner.plan.schema`, and must not pull in the generator (which uses the simulator).
This goes once the simulator no longer imports planner's prompts (the sim track).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "GenerationNotFound": "planner.store",
    "GenerationNotResumable": "planner.store",
    "GenerationOutcome": "planner.plan.request",
    "GenerationRequest": "planner.plan.request",
    "GenerationRequestError": "planner.plan.request",
    "GenerationService": "planner.plan.service",
    "PlanParseError": "planner.plan.parse",
    "outcome_of": "planner.plan.runner",
    "parse_discovery": "planner.plan.parse",
    "parse_masterplan": "planner.plan.parse",
    "prepare": "planner.plan.runner",
    "resume_generation": "planner.plan.runner",
    "run_generation": "planner.plan.runner",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'planner.plan' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value
