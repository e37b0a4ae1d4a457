"""One row in every table, linked the way planner links them (migration and cascade tests)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from planner.db import (
    Base,
    DiscoveryDocument,
    Experiment,
    ExperimentRun,
    Generation,
    GenerationAttempt,
    GenerationChunk,
    GenerationEvent,
    MasterPlanRow,
    MilestoneRow,
    PhaseRow,
    SubtaskRow,
    TaskRow,
    User,
)


@dataclass
class Tree:
    user_id: uuid.UUID
    generation_id: uuid.UUID
    discovery_id: uuid.UUID
    masterplan_id: uuid.UUID
    experiment_id: uuid.UUID


def add_user(session: Session, username: str) -> uuid.UUID:
    user = User(username=username, password_hash=None, can_login=False)
    session.add(user)
    session.flush()
    return user.id


def add_tree(session: Session, user_id: uuid.UUID, *, tag: str = "a") -> Tree:
    """A generation with attempts, chunks, events, a discovery, a full plan, an experiment."""
    generation = Generation(
        user_id=user_id,
        description=f"plan {tag}",
        strategy="resume",
        fault_spec='[{"type": "reset", "toxicity": 1.0}]',
        model="claude-sonnet-5-5",
        status="completed",
        tier="resume",
        discovery_json={"domain": "shop", "tags": ["x", "y"]},
    )
    session.add(generation)
    session.flush()
    session.add_all(
        [
            GenerationAttempt(generation_id=generation.id, number=n, stage="masterplan", kind=k)
            for n, k in ((1, "stream"), (2, "resume"))
        ]
        + [
            GenerationChunk(
                generation_id=generation.id,
                seq=seq,
                attempt=1,
                stage="masterplan",
                char_offset=seq * 10,
                chars=10,
                t_ms=seq * 25,
            )
            for seq in range(3)
        ]
        + [
            GenerationEvent(
                generation_id=generation.id,
                seq=seq,
                name="masterplan_tokens_progress",
                payload={"tokens_received": seq, "percentage": 12.5},
            )
            for seq in (1, 2)
        ]
    )
    discovery = DiscoveryDocument(
        user_id=user_id,
        generation_id=generation.id,
        description=f"plan {tag}",
        domain="shop",
        bounded_contexts=[{"name": "orders"}],
        aggregates=["Order"],
        services=["billing"],
        risks=[],
        assumptions=["one region"],
        task_count=2,
    )
    session.add(discovery)
    session.flush()
    plan = MasterPlanRow(
        user_id=user_id,
        generation_id=generation.id,
        discovery_id=discovery.id,
        project_name=f"Shop {tag}",
        tech_stack={"backend": "python"},
        total_phases=1,
        total_milestones=1,
        total_tasks=2,
        total_subtasks=2,
        plan_json={"phases": []},
    )
    session.add(plan)
    session.flush()
    generation.masterplan_id = plan.id
    phase = PhaseRow(masterplan_id=plan.id, phase_number=1, name="Setup")
    session.add(phase)
    session.flush()
    milestone = MilestoneRow(
        masterplan_id=plan.id, phase_id=phase.id, milestone_number=1, name="Skeleton"
    )
    session.add(milestone)
    session.flush()
    tasks = [
        TaskRow(
            masterplan_id=plan.id,
            phase_id=phase.id,
            milestone_id=milestone.id,
            task_number=n,
            name=f"Task {n}",
            complexity="high",
            depends_on_numbers=[] if n == 1 else [1],
            depends_on_task_ids=[],
            target_files=["app.py"],
        )
        for n in (1, 2)
    ]
    session.add_all(tasks)
    session.flush()
    session.add_all(
        SubtaskRow(masterplan_id=plan.id, task_id=task.id, subtask_number=1, name="Do it")
        for task in tasks
    )
    experiment = Experiment(
        user_id=user_id, faults=["drop-at-90"], strategies=["resume"], repeats=1
    )
    session.add(experiment)
    session.flush()
    session.add(
        ExperimentRun(
            experiment_id=experiment.id,
            generation_id=generation.id,
            fault="drop-at-90",
            strategy="resume",
            repeat_index=0,
            seed=0,
        )
    )
    session.flush()
    return Tree(user_id, generation.id, discovery.id, plan.id, experiment.id)


def row_counts(session: Session) -> dict[str, int]:
    """Rows per table, for every table the models declare."""
    return {
        table.name: session.scalar(select(func.count()).select_from(table))
        for table in Base.metadata.sorted_tables
    }
