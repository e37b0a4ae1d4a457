"""planner's prompts: discovery, MasterPlan and the repair round.

Requests are plain keyword dictionaries for `client.messages.stream(**request)`. The
system prompts open with the shared handbook, long and stable, and are marked for
prompt caching. planner's simulated planning model (`planner.plan.model`) recognises
them by their role sentence and reads the description, the task count and the
discovery from the tagged parts of the user message, exactly the parts a real model
would read.
"""

from __future__ import annotations

import json
import math
from typing import Any

from planner.catalog import lookup
from planner.plan.handbook import HANDBOOK
from planner.plan.schema import Discovery, MasterPlan
from planner.plan.settings import GenerationSettings, request_params

DISCOVERY_ROLE = "You are the discovery analyst of planner."
MASTERPLAN_ROLE = "You are the MasterPlan architect of planner."
REPAIR_OPENING = "The JSON you returned is invalid."

DISCOVERY_MAX_TOKENS = 4096
MASTERPLAN_MAX_TOKENS = 32000
# Thinking counts toward max_tokens: a stage that thinks gets this much more room, so its
# answer is not cut short by its own thinking.
THINKING_HEADROOM_TOKENS = 8192
MIN_TASKS = 8
MAX_TASKS = 120

DISCOVERY_SYSTEM = f"""{DISCOVERY_ROLE} You read a short project description and answer
with one JSON object, nothing else, analysing the domain with domain-driven design:

{{
  "domain": "the business domain in a few words",
  "summary": "two or three sentences",
  "bounded_contexts": [{{"name": "...", "description": "...", "aggregates": ["..."]}}],
  "aggregates": ["every aggregate named above"],
  "services": [{{"name": "...", "responsibility": "..."}}],
  "risks": ["..."],
  "assumptions": ["..."]
}}

Name only what the description supports. No code fences, no prose around the JSON."""

MASTERPLAN_SYSTEM = f"""{MASTERPLAN_ROLE} From a project description and its discovery
analysis you write a complete implementation plan as one JSON object, nothing else:

{{
  "project_name": "...",
  "description": "...",
  "architecture_style": "...",
  "tech_stack": {{"backend": ["..."], "frontend": ["..."], "database": ["..."],
                 "infrastructure": ["..."]}},
  "total_phases": 0, "total_milestones": 0, "total_tasks": 0, "total_subtasks": 0,
  "estimated_total_hours": 0,
  "phases": [{{
    "phase_number": 1, "name": "...", "description": "...",
    "milestones": [{{
      "milestone_number": 1, "name": "...", "description": "...",
      "tasks": [{{
        "task_number": 1, "name": "...", "description": "...",
        "complexity": "low|medium|high|critical", "estimated_hours": 4,
        "depends_on": [], "target_files": ["..."],
        "subtasks": [{{"subtask_number": 1, "name": "...", "description": "..."}}]
      }}]
    }}]
  }}]
}}

Rules: phases go from discovery and foundations to delivery. Milestone and task numbers
are global and contiguous from 1; subtask numbers restart at 1 in each task.
`depends_on` lists earlier task numbers only. The declared totals equal the real counts.
No code fences, no prose around the JSON."""


def _system(text: str) -> list[dict[str, Any]]:
    """The shared handbook (one cached prefix for every request), then the stage's role."""
    return [
        {"type": "text", "text": HANDBOOK, "cache_control": {"type": "ephemeral"}},
        {"type": "text", "text": text, "cache_control": {"type": "ephemeral"}},
    ]


def _max_tokens(settings: GenerationSettings, stage: str, answer_tokens: int) -> int:
    thinks = settings.stage(stage).thinking not in ("model", "off")
    return answer_tokens + (THINKING_HEADROOM_TOKENS if thinks else 0)


def discovery_request(
    description: str, model: str, settings: GenerationSettings | None = None
) -> dict[str, Any]:
    settings = settings or GenerationSettings()
    max_tokens = _max_tokens(settings, "discovery", DISCOVERY_MAX_TOKENS)
    return {
        "model": model,
        "max_tokens": max_tokens,
        "system": _system(DISCOVERY_SYSTEM),
        "messages": [
            {
                "role": "user",
                "content": f"<project_description>\n{description}\n</project_description>",
            }
        ],
        **request_params(
            settings, "discovery", Discovery, max_tokens=max_tokens, spec=lookup(model)
        ),
    }


def task_count_for(
    discovery: Discovery, min_tasks: int = MIN_TASKS, max_tasks: int = MAX_TASKS
) -> int:
    """(bounded contexts x 2) + (aggregates x 3) + (services x 1.5) + 4, clamped."""
    aggregates = set(discovery.aggregates) | {
        a for context in discovery.bounded_contexts for a in context.aggregates
    }
    contexts, services = len(discovery.bounded_contexts), len(discovery.services)
    raw = contexts * 2 + len(aggregates) * 3 + services * 1.5 + 4
    return max(min_tasks, min(max_tasks, math.ceil(raw)))


def masterplan_request(
    description: str,
    discovery: Discovery,
    task_count: int,
    model: str,
    settings: GenerationSettings | None = None,
) -> dict[str, Any]:
    settings = settings or GenerationSettings()
    max_tokens = _max_tokens(settings, "masterplan", MASTERPLAN_MAX_TOKENS)
    content = (
        f"<project_description>\n{description}\n</project_description>\n"
        f"<discovery>\n{json.dumps(discovery.model_dump(mode='json'), indent=1)}\n</discovery>\n"
        f"The plan must contain exactly {task_count} tasks."
    )
    return {
        "model": model,
        "max_tokens": max_tokens,
        "system": _system(MASTERPLAN_SYSTEM),
        "messages": [{"role": "user", "content": content}],
        **request_params(
            settings, "masterplan", MasterPlan, max_tokens=max_tokens, spec=lookup(model)
        ),
    }


def repair_request(request: dict[str, Any], bad_answer: str, errors: list[str]) -> dict[str, Any]:
    """The same request, with the invalid answer and what is wrong with it appended."""
    listed = "\n".join(f"- {error}" for error in errors)
    return {
        **request,
        "messages": [
            *request["messages"],
            {"role": "assistant", "content": bad_answer.rstrip() or "{}"},
            {
                "role": "user",
                "content": f"{REPAIR_OPENING} These problems were found:\n{listed}\n"
                "Answer again with the complete, corrected JSON object and nothing else.",
            },
        ],
    }
