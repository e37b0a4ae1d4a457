"""Hand-made discovery and MasterPlan JSON for tests that need no model."""

from __future__ import annotations

import json
from typing import Any


def discovery_dict() -> dict[str, Any]:
    return {
        "domain": "outdoor gear resale",
        "summary": "People sell used camping gear to each other.",
        "bounded_contexts": [
            {"name": "Catalog", "description": "listings", "aggregates": ["Listing"]},
            {"name": "Payments", "description": "money", "aggregates": ["Payment"]},
        ],
        "aggregates": ["Listing", "Payment"],
        "services": [{"name": "Search", "responsibility": "find gear"}],
        "risks": ["fraud"],
        "assumptions": ["web only"],
    }


def plan_dict(
    phases: int = 2,
    milestones_per_phase: int = 2,
    tasks_per_milestone: int = 3,
    subtasks_per_task: int = 2,
) -> dict[str, Any]:
    """A consistent plan: global numbering, each task depends on the one before it."""
    plan_phases = []
    milestone_number = task_number = 0
    for p in range(1, phases + 1):
        milestones = []
        for _ in range(milestones_per_phase):
            milestone_number += 1
            tasks = []
            for _ in range(tasks_per_milestone):
                task_number += 1
                tasks.append(
                    {
                        "task_number": task_number,
                        "name": f"Task {task_number}",
                        "description": f"Do thing {task_number}",
                        "complexity": ["low", "medium", "high", "critical"][task_number % 4],
                        "estimated_hours": 2 + task_number % 5,
                        "depends_on": [task_number - 1] if task_number > 1 else [],
                        "target_files": [f"src/module_{task_number}.py"],
                        "subtasks": [
                            {"subtask_number": s, "name": f"Step {s}", "description": "small"}
                            for s in range(1, subtasks_per_task + 1)
                        ],
                    }
                )
            milestones.append(
                {
                    "milestone_number": milestone_number,
                    "name": f"Milestone {milestone_number}",
                    "description": "",
                    "tasks": tasks,
                }
            )
        plan_phases.append(
            {"phase_number": p, "name": f"Phase {p}", "description": "", "milestones": milestones}
        )
    return {
        "project_name": "Gear Swap",
        "description": "A marketplace for used camping gear",
        "architecture_style": "modular monolith",
        "tech_stack": {"backend": ["Python"], "database": ["PostgreSQL"]},
        "total_phases": phases,
        "total_milestones": milestone_number,
        "total_tasks": task_number,
        "total_subtasks": task_number * subtasks_per_task,
        "estimated_total_hours": 100,
        "phases": plan_phases,
    }


def plan_text(**kwargs: Any) -> str:
    return json.dumps(plan_dict(**kwargs), indent=2)
