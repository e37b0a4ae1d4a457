"""MasterPlan generation: prompts, parsing, the generator, its recording and the service.

Front ends use `run_generation` / `resume_generation` (synchronous) or the
`GenerationService` (background, `default_service()`); every generation is recorded the
same way, whoever starts it.

The names are loaded on first use: the simulator imports `planner.plan.prompts` and
`planner.plan.schema`, and must not pull in the generator (which uses the simulator).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "GenerationNotFound": "planner.plan.stored",
    "GenerationNotResumable": "planner.plan.stored",
    "GenerationOutcome": "planner.plan.request",
    "GenerationRequest": "planner.plan.request",
    "GenerationRequestError": "planner.plan.request",
    "GenerationService": "planner.plan.service",
    "PlanParseError": "planner.plan.parse",
    "default_service": "planner.plan.service",
    "outcome_of": "planner.plan.stored",
    "parse_discovery": "planner.plan.parse",
    "parse_masterplan": "planner.plan.parse",
    "prepare_database": "planner.plan.runner",
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
