"""A stored MasterPlan as tables: phases, milestones, tasks (with dependencies), subtasks.

Ownership is checked on the masterplan row itself, so a plan id guessed from a URL
shows nothing to anyone but its owner.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import select

from planner.analysis._query import read_frames, read_one
from planner.db import Database, MasterPlanRow, MilestoneRow, PhaseRow, SubtaskRow, TaskRow


@dataclass(frozen=True)
class PlanTables:
    plan: dict[str, Any]
    phases: pd.DataFrame
    milestones: pd.DataFrame
    tasks: pd.DataFrame
    subtasks: pd.DataFrame


def load_plan(db: Database, masterplan_id: uuid.UUID, user_id: uuid.UUID) -> PlanTables | None:
    """The plan's header row (with plan_json) and its four levels, or None if not the user's."""
    plan = read_one(
        db,
        select(*MasterPlanRow.__table__.columns).where(
            MasterPlanRow.id == masterplan_id, MasterPlanRow.user_id == user_id
        ),
    )
    if plan is None:
        return None
    phases, milestones, tasks, subtasks = read_frames(
        db,
        [
            select(PhaseRow.id, PhaseRow.phase_number, PhaseRow.name, PhaseRow.description)
            .where(PhaseRow.masterplan_id == masterplan_id)
            .order_by(PhaseRow.phase_number),
            select(
                MilestoneRow.id,
                MilestoneRow.phase_id,
                MilestoneRow.milestone_number,
                MilestoneRow.name,
                MilestoneRow.description,
            )
            .where(MilestoneRow.masterplan_id == masterplan_id)
            .order_by(MilestoneRow.milestone_number),
            select(
                TaskRow.id,
                TaskRow.phase_id,
                TaskRow.milestone_id,
                TaskRow.task_number,
                TaskRow.name,
                TaskRow.description,
                TaskRow.complexity,
                TaskRow.estimated_hours,
                TaskRow.depends_on_numbers,
                TaskRow.target_files,
                TaskRow.total_subtasks,
            )
            .where(TaskRow.masterplan_id == masterplan_id)
            .order_by(TaskRow.task_number),
            select(
                SubtaskRow.id,
                SubtaskRow.task_id,
                SubtaskRow.subtask_number,
                SubtaskRow.name,
                SubtaskRow.description,
            )
            .where(SubtaskRow.masterplan_id == masterplan_id)
            .order_by(SubtaskRow.task_id, SubtaskRow.subtask_number),
        ],
    )
    return PlanTables(plan, phases, milestones, tasks, subtasks)


def task_table(tables: PlanTables) -> pd.DataFrame:
    """One row per task with its phase and milestone names and its dependencies as text."""
    if tables.tasks.empty:
        return pd.DataFrame(
            columns=[
                "phase",
                "milestone",
                "task_number",
                "name",
                "complexity",
                "estimated_hours",
                "depends_on",
                "subtasks",
            ]
        )
    phase_names = dict(zip(tables.phases["id"], tables.phases["name"], strict=True))
    milestone_names = dict(zip(tables.milestones["id"], tables.milestones["name"], strict=True))
    tasks = tables.tasks
    return pd.DataFrame(
        {
            "phase": tasks["phase_id"].map(phase_names),
            "milestone": tasks["milestone_id"].map(milestone_names),
            "task_number": tasks["task_number"].astype(int),
            "name": tasks["name"],
            "complexity": tasks["complexity"],
            "estimated_hours": tasks["estimated_hours"].astype(float),
            "depends_on": tasks["depends_on_numbers"].map(
                lambda numbers: ", ".join(f"T{n}" for n in (numbers or []))
            ),
            "subtasks": tasks["total_subtasks"].astype(int),
        }
    )
