"""Saving a MasterPlan: one transaction, dependencies mapped to ids, every counter filled."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import func, select

from planner.auth import get_or_create_local_user
from planner.db import (
    Database,
    DiscoveryDocument,
    MasterPlanRow,
    MilestoneRow,
    PhaseRow,
    SubtaskRow,
    TaskRow,
)
from planner.plan.parse import load_masterplan, parse_discovery, parse_masterplan
from planner.plan.persist import save_discovery, store_masterplan, total_entities
from tests.plan_samples import discovery_dict, plan_dict, plan_text


@pytest.fixture
def user_id(db: Database) -> uuid.UUID:
    db.ensure_schema()
    return get_or_create_local_user(db).id


def _count(db: Database, model: type, masterplan_id: uuid.UUID | None = None) -> int:
    with db.session() as session:
        query = select(func.count()).select_from(model)
        if masterplan_id is not None:
            column = model.id if model is MasterPlanRow else model.masterplan_id
            query = query.where(column == masterplan_id)
        return session.scalar(query)


def test_the_whole_hierarchy_is_stored_with_its_counters(db: Database, user_id: uuid.UUID) -> None:
    plan = parse_masterplan(plan_text(phases=3, milestones_per_phase=2, tasks_per_milestone=3))
    masterplan_id = store_masterplan(db, plan, user_id=user_id)
    assert total_entities(plan) == 1 + 3 + 6 + 18 + 36
    with db.session() as session:
        row = session.get(MasterPlanRow, masterplan_id)
        assert (row.total_phases, row.total_milestones, row.total_tasks, row.total_subtasks) == (
            3,
            6,
            18,
            36,
        )
        assert row.estimated_total_hours == sum(t.estimated_hours for t in plan.tasks())
        assert row.plan_json == json.loads(plan.model_dump_json())
        phases = session.scalars(
            select(PhaseRow)
            .where(PhaseRow.masterplan_id == masterplan_id)
            .order_by(PhaseRow.phase_number)
        ).all()
        assert [(p.phase_number, p.total_milestones, p.total_tasks) for p in phases] == [
            (1, 2, 6),
            (2, 2, 6),
            (3, 2, 6),
        ]
        milestones = session.scalars(
            select(MilestoneRow).where(MilestoneRow.masterplan_id == masterplan_id)
        ).all()
        assert sorted(m.milestone_number for m in milestones) == list(range(1, 7))
        assert all(m.total_tasks == 3 for m in milestones)
        tasks = {
            t.task_number: t
            for t in session.scalars(select(TaskRow).where(TaskRow.masterplan_id == masterplan_id))
        }
        assert sorted(tasks) == list(range(1, 19))
        for number, task in tasks.items():
            assert task.total_subtasks == 2
            assert task.depends_on_numbers == ([number - 1] if number > 1 else [])
            assert task.depends_on_task_ids == ([str(tasks[number - 1].id)] if number > 1 else [])
        assert tasks[4].phase_id == phases[0].id and tasks[7].phase_id == phases[1].id
        subtasks = session.scalars(
            select(SubtaskRow).where(SubtaskRow.task_id == tasks[5].id)
        ).all()
        assert sorted(s.subtask_number for s in subtasks) == [1, 2]


def test_a_failure_half_way_leaves_nothing_behind(db: Database, user_id: uuid.UUID) -> None:
    data = plan_dict(phases=2, milestones_per_phase=1, tasks_per_milestone=3)
    last_task = data["phases"][1]["milestones"][0]["tasks"][2]
    last_task["task_number"] = 1  # a duplicate: the task insert fails after phases and milestones
    plan = load_masterplan(json.dumps(data))
    with pytest.raises(Exception, match="(?i)duplicate|unique|constraint"):
        store_masterplan(db, plan, user_id=user_id)
    for model in (MasterPlanRow, PhaseRow, MilestoneRow, TaskRow, SubtaskRow):
        assert _count(db, model) == 0, model.__tablename__


def test_discovery_is_stored_with_its_task_count(db: Database, user_id: uuid.UUID) -> None:
    discovery = parse_discovery(json.dumps(discovery_dict()))
    with db.session() as session:
        discovery_id = save_discovery(
            session,
            discovery,
            user_id=user_id,
            generation_id=None,
            description="used gear",
            task_count=17,
        )
    with db.session() as session:
        row = session.get(DiscoveryDocument, discovery_id)
        assert (row.domain, row.task_count, row.aggregates) == (
            "outdoor gear resale",
            17,
            ["Listing", "Payment"],
        )
        assert row.bounded_contexts[1]["name"] == "Payments"
