"""The rows of a discovery and of a whole MasterPlan hierarchy, written in a caller's
transaction.

The plan goes in as one transaction: phases, milestones, tasks (dependencies mapped from
task numbers to task ids) and subtasks, every counter filled from the real counts, and
the generation pointed at its plan. Keys are made in Python before anything is written,
so each level is one multi-row insert, and the plan's id is known before it is saved (the
completion event names it). A generation's recording runs these in its own transactions
(`planner.store.Recording.with_next_batch`, `close(write=...)`), so the plan lands with
the generation's final values and status; a failure anywhere rolls everything back:
there is never a half-written plan.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Connection, insert, update
from sqlalchemy.orm import Session

from planner.db import (
    Database,
    DiscoveryDocument,
    Generation,
    MasterPlanRow,
    MilestoneRow,
    PhaseRow,
    SubtaskRow,
    TaskRow,
    utcnow,
)
from planner.plan.schema import Discovery, MasterPlan


def total_entities(plan: MasterPlan) -> int:
    """Rows a save writes: the plan, its phases, milestones, tasks and subtasks."""
    return 1 + sum(plan.counts().values())


def save_discovery(
    session: Session | Connection,
    discovery: Discovery,
    *,
    user_id: uuid.UUID,
    generation_id: uuid.UUID | None,
    description: str,
    task_count: int,
    discovery_id: uuid.UUID | None = None,
) -> uuid.UUID:
    discovery_id = discovery_id or uuid.uuid4()
    session.execute(
        insert(DiscoveryDocument),
        [
            {
                "id": discovery_id,
                "user_id": user_id,
                "generation_id": generation_id,
                "description": description,
                "domain": discovery.domain,
                "summary": discovery.summary,
                "bounded_contexts": [c.model_dump(mode="json") for c in discovery.bounded_contexts],
                "aggregates": list(discovery.aggregates),
                "services": [s.model_dump(mode="json") for s in discovery.services],
                "risks": list(discovery.risks),
                "assumptions": list(discovery.assumptions),
                "task_count": task_count,
                "created_at": utcnow(),
            }
        ],
    )
    return discovery_id


def _rows(plan: MasterPlan, masterplan_id: uuid.UUID) -> dict[type, list[dict[str, Any]]]:
    """Every row of the hierarchy, keys made up front so dependencies can be mapped."""
    now = utcnow()
    task_ids = {task.task_number: uuid.uuid4() for task in plan.tasks()}
    phases: list[dict[str, Any]] = []
    milestones: list[dict[str, Any]] = []
    tasks: list[dict[str, Any]] = []
    subtasks: list[dict[str, Any]] = []
    for phase in plan.phases:
        phase_id = uuid.uuid4()
        phases.append(
            {
                "id": phase_id,
                "masterplan_id": masterplan_id,
                "phase_number": phase.phase_number,
                "name": phase.name,
                "description": phase.description,
                "total_milestones": len(phase.milestones),
                "total_tasks": sum(len(m.tasks) for m in phase.milestones),
                "created_at": now,
            }
        )
        for milestone in phase.milestones:
            milestone_id = uuid.uuid4()
            milestones.append(
                {
                    "id": milestone_id,
                    "masterplan_id": masterplan_id,
                    "phase_id": phase_id,
                    "milestone_number": milestone.milestone_number,
                    "name": milestone.name,
                    "description": milestone.description,
                    "total_tasks": len(milestone.tasks),
                    "created_at": now,
                }
            )
            for task in milestone.tasks:
                task_id = task_ids[task.task_number]
                tasks.append(
                    {
                        "id": task_id,
                        "masterplan_id": masterplan_id,
                        "phase_id": phase_id,
                        "milestone_id": milestone_id,
                        "task_number": task.task_number,
                        "name": task.name,
                        "description": task.description,
                        "complexity": task.complexity.value,
                        "estimated_hours": task.estimated_hours,
                        "depends_on_numbers": list(task.depends_on),
                        "depends_on_task_ids": [str(task_ids[n]) for n in task.depends_on],
                        "target_files": list(task.target_files),
                        "total_subtasks": len(task.subtasks),
                        "created_at": now,
                    }
                )
                subtasks += [
                    {
                        "id": uuid.uuid4(),
                        "masterplan_id": masterplan_id,
                        "task_id": task_id,
                        "subtask_number": subtask.subtask_number,
                        "name": subtask.name,
                        "description": subtask.description,
                        "created_at": now,
                    }
                    for subtask in task.subtasks
                ]
    return {PhaseRow: phases, MilestoneRow: milestones, TaskRow: tasks, SubtaskRow: subtasks}


def save_masterplan(
    session: Session | Connection,
    plan: MasterPlan,
    *,
    user_id: uuid.UUID,
    generation_id: uuid.UUID | None = None,
    discovery_id: uuid.UUID | None = None,
    masterplan_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """Insert the whole hierarchy in `session` (the caller owns the transaction)."""
    masterplan_id = masterplan_id or uuid.uuid4()
    counts = plan.counts()
    now = utcnow()
    session.execute(
        insert(MasterPlanRow),
        [
            {
                "id": masterplan_id,
                "user_id": user_id,
                "generation_id": generation_id,
                "discovery_id": discovery_id,
                "project_name": plan.project_name,
                "description": plan.description,
                "architecture_style": plan.architecture_style,
                "tech_stack": plan.tech_stack,
                "total_phases": counts["phases"],
                "total_milestones": counts["milestones"],
                "total_tasks": counts["tasks"],
                "total_subtasks": counts["subtasks"],
                "estimated_total_hours": sum(t.estimated_hours for t in plan.tasks()),
                "plan_json": plan.model_dump(mode="json"),
                "created_at": now,
                "updated_at": now,
            }
        ],
    )
    for model, rows in _rows(plan, masterplan_id).items():
        if rows:
            session.execute(insert(model), rows)
    if generation_id is not None:
        session.execute(
            update(Generation)
            .where(Generation.id == generation_id)
            .values(masterplan_id=masterplan_id)
        )
    return masterplan_id


def store_masterplan(
    db: Database,
    plan: MasterPlan,
    *,
    user_id: uuid.UUID,
    generation_id: uuid.UUID | None = None,
    discovery_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """Save the plan in one transaction of its own; all of it or nothing."""
    return db.transaction(
        lambda conn: save_masterplan(
            conn,
            plan,
            user_id=user_id,
            generation_id=generation_id,
            discovery_id=discovery_id,
        )
    )
