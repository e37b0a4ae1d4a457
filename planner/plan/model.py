"""planner's planning "model": the discovery and MasterPlan JSON the simulator serves.

The simulator serves whatever model it is handed (`planner.sim.answers.AnswerModel`) and
knows nothing of planner's prompts; this is the model planner hands it (the embedded
simulator of `planner.plan.endpoint`, and `planner sim`). It reads planner's prompts the
way a real model would: the stage from the system prompt's role sentence, the
description, the discovery and the task count from the tagged parts of the user
message. Anything else gets the simulator's plain prose.

Everything is drawn from the opening's seeded generator and the description, so the same
request gives the same plan. The MasterPlan has exactly the requested number of tasks,
contiguous numbering, dependencies on earlier tasks only and declared totals equal to
the real counts: it passes `MasterPlan.model_validate` and `consistency_errors`. Its size
tracks a real answer (about 140 tokens a task).
"""

from __future__ import annotations

import json
import math
import random
import re
from typing import Any

from planner.plan.prompts import DISCOVERY_ROLE, MASTERPLAN_ROLE
from planner.sim import FullAnswer, Opening, PlainProse
from planner.sim.vocabulary import keywords

DEFAULT_TASK_COUNT = 24
_TASK_COUNT = re.compile(r"exactly (\d+) tasks")
_CONTEXT_SUFFIXES = ("Management", "Catalog", "Operations", "Lifecycle", "Insights", "Workflow")
_AGGREGATE_SUFFIXES = ("", "Request", "Policy", "Schedule", "Record", "Item")
_GENERIC_CONTEXTS = (
    ("Identity and Access", ["UserAccount", "Role"]),
    ("Notifications", ["NotificationTemplate", "DeliveryAttempt"]),
    ("Billing", ["Invoice", "PaymentMethod"]),
)
_STACKS = (
    {
        "language": "python",
        "backend": ["Python 3.12", "FastAPI", "SQLAlchemy 2", "Celery"],
        "frontend": ["TypeScript", "React", "Vite", "TanStack Query"],
    },
    {
        "language": "typescript",
        "backend": ["TypeScript", "Node.js 22", "NestJS", "Prisma"],
        "frontend": ["TypeScript", "Next.js", "Tailwind CSS"],
    },
    {
        "language": "go",
        "backend": ["Go 1.23", "chi", "sqlc", "NATS"],
        "frontend": ["TypeScript", "SvelteKit", "Tailwind CSS"],
    },
)
_TASKS = (
    ("Design the {a} data model", "Entity, invariants and tables for {a}."),
    ("Implement the {a} repository", "Persist {a} with transactions."),
    ("Build the {a} REST endpoints", "CRUD and list operations for {a}."),
    ("Add validation rules for {a}", "Reject inconsistent {a} input clearly."),
    ("Write domain tests for {a}", "Cover {a} invariants and transitions."),
    ("Create the {a} list view", "Paginated, filterable {a} table."),
    ("Build the {a} editing form", "Create and edit {a} with inline checks."),
    ("Publish {a} domain events", "Emit events when a {a} changes."),
    ("Enforce access rules on {a}", "Role and ownership checks for {a}."),
    ("Optimise {a} queries", "Indexes and pagination for {a} lookups."),
    ("Integrate {a} with search", "Keep a {a} search index in sync."),
    ("Document the {a} API", "OpenAPI examples and errors for {a}."),
)
_SUBTASKS = (
    ("Schema migration", "Tables and indexes."),
    ("Core logic", "Main behaviour."),
    ("Unit tests", "Edge cases."),
    ("Wiring", "Routes and config."),
    ("Error handling", "Clear messages."),
    ("Docs", "Usage notes."),
    ("Metrics", "Logs and counters."),
)
_MILESTONE_GOALS = ("review", "integration", "release")
_COMPLEXITY = (("low", 3), ("medium", 5), ("high", 3), ("critical", 1))
_HOURS = {"low": (2, 4), "medium": (4, 8), "high": (8, 16), "critical": (12, 24)}


def title(word: str) -> str:
    return " ".join(part.capitalize() for part in re.split(r"[\s-]+", word) if part)


def pascal(word: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[\s&-]+", word) if part)


def slug(word: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", word.lower()).strip("_") or "core"


def discovery(description: str, rng: random.Random) -> dict[str, Any]:
    words = keywords(description)
    subjects = words[: max(2, min(5, len(words) - 1))]
    contexts = []
    for index, word in enumerate(subjects):
        suffix = _CONTEXT_SUFFIXES[
            (index + rng.randrange(len(_CONTEXT_SUFFIXES))) % len(_CONTEXT_SUFFIXES)
        ]
        count = rng.randint(1, 3)
        aggregates = [pascal(word) + s for s in rng.sample(_AGGREGATE_SUFFIXES, count)]
        contexts.append(
            {
                "name": f"{title(word)} {suffix}",
                "description": f"Everything about {word}: its rules, lifecycle and owners.",
                "aggregates": aggregates,
            }
        )
    generic_name, generic_aggregates = _GENERIC_CONTEXTS[rng.randrange(len(_GENERIC_CONTEXTS))]
    contexts.append(
        {
            "name": generic_name,
            "description": f"{generic_name} shared by every other context.",
            "aggregates": list(generic_aggregates),
        }
    )
    aggregates = [a for c in contexts for a in c["aggregates"]]
    services = [
        {
            "name": f"{pascal(word)}Service",
            "responsibility": f"Coordinates {word} use cases across aggregates.",
        }
        for word in subjects[: rng.randint(2, max(2, len(subjects)))]
    ]
    domain = " ".join(words[:3])
    return {
        "domain": domain,
        "summary": (
            f"A product for {domain}. The core is {contexts[0]['name']}; "
            f"{len(contexts)} bounded contexts exchange events and share one identity model."
        ),
        "bounded_contexts": contexts,
        "aggregates": aggregates,
        "services": services,
        "risks": [
            f"The {words[0]} rules are not fully known yet and may change during delivery.",
            "Data migration from the current tools can take longer than planned.",
        ],
        "assumptions": [
            "A single region deployment is enough for the first release.",
            f"Users already understand the {words[-1]} vocabulary.",
        ],
    }


def _split(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if index < extra else 0) for index in range(parts)]


def _phase_names(contexts: list[str], middle: int) -> list[str]:
    extra = ["Integrations and Workflows", "User Experience", "Reporting and Insights"]
    names = [f"{name} Domain" for name in contexts] + extra
    while len(names) < middle:
        names.append(f"Capability Wave {len(names) + 1}")
    return ["Foundations and Project Setup", *names[:middle], "Hardening, Release and Operations"]


def _task(
    number: int,
    subject: str,
    context_slug: str,
    language: str,
    rng: random.Random,
    first_in_milestone: int,
) -> dict[str, Any]:
    name, description = _TASKS[(number * 7 + rng.randrange(3)) % len(_TASKS)]
    complexity = rng.choices([c for c, _ in _COMPLEXITY], weights=[w for _, w in _COMPLEXITY])[0]
    depends_on: list[int] = []
    if number > first_in_milestone:
        depends_on.append(number - 1)
    if first_in_milestone > 1 and rng.random() < 0.5:
        depends_on.insert(0, rng.randint(max(1, first_in_milestone - 6), first_in_milestone - 1))
    module = slug(subject)
    extension = {"python": "py", "typescript": "ts", "go": "go"}[language]
    files = [f"{context_slug}/{module}.{extension}"]
    if rng.random() < 0.15:
        files.append(f"tests/test_{module}.{extension}")
    subtasks = [
        {"subtask_number": index + 1, "name": sub_name, "description": sub_description}
        for index, (sub_name, sub_description) in enumerate(
            rng.sample(_SUBTASKS, rng.choice((1, 1, 2, 2, 3)))
        )
    ]
    return {
        "task_number": number,
        "name": name.format(a=subject),
        "description": description.format(a=subject),
        "complexity": complexity,
        "estimated_hours": rng.randint(*_HOURS[complexity]),
        "depends_on": depends_on,
        "target_files": files,
        "subtasks": subtasks,
    }


def masterplan(
    description: str, found: dict[str, Any], task_count: int, rng: random.Random
) -> dict[str, Any]:
    words = keywords(description)
    contexts = found.get("bounded_contexts") or [
        {"name": title(w), "aggregates": [pascal(w)]} for w in words
    ]
    # every phase needs a milestone and every milestone a task
    phase_count = min(task_count, max(3, min(7, round(task_count / 20) + 2)))
    milestone_count = min(
        task_count, max(phase_count, min(3 * phase_count, math.ceil(task_count / 6)))
    )
    stack = _STACKS[rng.randrange(len(_STACKS))]
    phase_names = _phase_names([c["name"] for c in contexts], phase_count - 2)
    phases = []
    milestones_per_phase = _split(milestone_count, phase_count)
    tasks_per_milestone = iter(_split(task_count, milestone_count))
    milestone_number = task_number = 0
    for phase_index, milestones_here in enumerate(milestones_per_phase):
        context = contexts[phase_index % len(contexts)]
        aggregates = context.get("aggregates") or [pascal(context["name"])]
        milestones = []
        for _ in range(milestones_here):
            milestone_number += 1
            first = task_number + 1
            subject_pool = aggregates[(milestone_number - 1) % len(aggregates) :] + aggregates
            tasks = []
            for offset in range(next(tasks_per_milestone)):
                task_number += 1
                subject = subject_pool[offset % len(subject_pool)]
                tasks.append(
                    _task(
                        task_number,
                        subject,
                        slug(context["name"].split()[0]),
                        stack["language"],
                        rng,
                        first,
                    )
                )
            milestones.append(
                {
                    "milestone_number": milestone_number,
                    "name": f"{subject_pool[0]} ready for {_MILESTONE_GOALS[milestone_number % 3]}",
                    "description": f"{subject_pool[0]} works end to end and is covered by tests.",
                    "tasks": tasks,
                }
            )
        phases.append(
            {
                "phase_number": phase_index + 1,
                "name": phase_names[phase_index],
                "description": f"Deliver {phase_names[phase_index].lower()} for {words[0]}.",
                "milestones": milestones,
            }
        )
    all_tasks = [t for p in phases for m in p["milestones"] for t in m["tasks"]]
    return {
        "project_name": " ".join(title(w) for w in words[:2]) + " Platform",
        "description": description.strip()[:400],
        "architecture_style": rng.choice(
            ["modular monolith", "hexagonal modular monolith", "microservices"]
        ),
        "tech_stack": {
            "backend": stack["backend"],
            "frontend": stack["frontend"],
            "database": ["PostgreSQL 16", "Redis 7"],
            "infrastructure": [
                "Docker",
                "GitHub Actions",
                rng.choice(["Kubernetes", "Fly.io", "AWS ECS"]),
            ],
        },
        "total_phases": len(phases),
        "total_milestones": milestone_number,
        "total_tasks": task_number,
        "total_subtasks": sum(len(t["subtasks"]) for t in all_tasks),
        "estimated_total_hours": sum(t["estimated_hours"] for t in all_tasks),
        "phases": phases,
    }


_INLINE_WIDTH = 110


def _render(value: Any, depth: int) -> str:
    flat = json.dumps(value, ensure_ascii=False)
    scalars_only = isinstance(value, dict | list) and not any(
        isinstance(item, dict | list)
        for item in (value.values() if isinstance(value, dict) else value)
    )
    if (
        not isinstance(value, dict | list)
        or (scalars_only and len(flat) <= _INLINE_WIDTH)
        or not value
    ):
        return flat
    inner = "  " * (depth + 1)
    if isinstance(value, dict):
        items = [f"{inner}{json.dumps(k)}: {_render(v, depth + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + "  " * depth + "}"
    items = [inner + _render(v, depth + 1) for v in value]
    return "[\n" + ",\n".join(items) + "\n" + "  " * depth + "]"


def render(document: dict[str, Any]) -> str:
    """Indented JSON with short lists and small objects on one line, the way models write it."""
    return _render(document, 0)


def _tagged(text: str, tag: str) -> str | None:
    match = re.search(rf"<{tag}>\s*(.*?)\s*</{tag}>", text, re.DOTALL)
    return match.group(1) if match else None


def _found_discovery(first_user: str) -> dict[str, Any]:
    """The discovery quoted in a MasterPlan prompt ({} when missing or not an object)."""
    try:
        found = json.loads(_tagged(first_user, "discovery") or "{}")
    except json.JSONDecodeError:
        return {}
    return found if isinstance(found, dict) else {}


class PlanningModel:
    """Discovery for planner's discovery prompt, a MasterPlan for its MasterPlan prompt."""

    def __init__(self) -> None:
        self.prose = PlainProse()

    def full_answer(self, opening: Opening) -> FullAnswer:
        description = _tagged(opening.first_user, "project_description") or opening.first_user
        if DISCOVERY_ROLE in opening.system:
            return FullAnswer(render(discovery(description, opening.random())), "discovery")
        if MASTERPLAN_ROLE in opening.system:
            count_match = _TASK_COUNT.search(opening.first_user)
            task_count = int(count_match.group(1)) if count_match else DEFAULT_TASK_COUNT
            plan = masterplan(
                description,
                _found_discovery(opening.first_user),
                max(1, task_count),
                opening.random(),
            )
            return FullAnswer(render(plan), "masterplan")
        return self.prose.full_answer(opening)


PLANNING_MODEL = PlanningModel()

__all__ = ["PLANNING_MODEL", "PlanningModel", "discovery", "masterplan", "render"]
