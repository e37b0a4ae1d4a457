"""Deletes that cascade in code, children before parents.

DuckDB has no ON DELETE CASCADE, and its foreign-key check is over-eager: a transaction
that deletes the children of a row cannot delete that row too (the children's index
entries stay visible until commit). So a delete runs as *levels*, leaves first; on
DuckDB each level commits on its own, on PostgreSQL all levels share the caller's
transaction. An interrupted delete on DuckDB leaves a smaller but consistent tree (never
a dangling reference), and running the same delete again finishes it.

The root of each delete is found through subqueries that stay valid until the level that
removes it, which is always the last one.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import Executable, Select, delete, or_, select, update
from sqlalchemy.orm import Session

from planner.db.models import (
    DiscoveryDocument,
    Experiment,
    ExperimentRun,
    Generation,
    GenerationAttempt,
    GenerationCheckpoint,
    GenerationChunk,
    GenerationEvent,
    GenerationLease,
    MasterPlanRow,
    MilestoneRow,
    PhaseRow,
    SessionFamily,
    SubtaskRow,
    TaskRow,
    User,
)

Level = list[Executable]


def _quiet(statement: Executable) -> Executable:
    return statement.execution_options(synchronize_session=False)


def _run_levels(session: Session, levels: Sequence[Level]) -> None:
    per_level_commit = session.get_bind().dialect.name == "duckdb"
    for level in levels:
        for statement in level:
            session.execute(_quiet(statement))
        if per_level_commit:
            session.commit()
    session.expire_all()


def _plan_levels(masterplans: Select) -> list[Level]:
    """Subtasks, tasks, milestones, phases of the selected masterplans (not the plans)."""
    return [
        [delete(SubtaskRow).where(SubtaskRow.masterplan_id.in_(masterplans))],
        [delete(TaskRow).where(TaskRow.masterplan_id.in_(masterplans))],
        [delete(MilestoneRow).where(MilestoneRow.masterplan_id.in_(masterplans))],
        [delete(PhaseRow).where(PhaseRow.masterplan_id.in_(masterplans))],
    ]


def _generation_and_plan_levels(
    generations: Select, masterplans: Select, discoveries: Select
) -> list[Level]:
    """Everything below the selected generations, masterplans and discovery documents."""
    levels = _plan_levels(masterplans)
    levels[0] += [
        delete(GenerationChunk).where(GenerationChunk.generation_id.in_(generations)),
        delete(GenerationCheckpoint).where(GenerationCheckpoint.generation_id.in_(generations)),
        delete(GenerationLease).where(GenerationLease.generation_id.in_(generations)),
        delete(GenerationEvent).where(GenerationEvent.generation_id.in_(generations)),
        delete(GenerationAttempt).where(GenerationAttempt.generation_id.in_(generations)),
        # Experiment figures outlive the generations they measured.
        update(ExperimentRun)
        .where(ExperimentRun.generation_id.in_(generations))
        .values(generation_id=None),
    ]
    levels.append(
        [
            update(MasterPlanRow)
            .where(MasterPlanRow.discovery_id.in_(discoveries))
            .where(MasterPlanRow.id.not_in(masterplans))
            .values(discovery_id=None),
            update(Generation)
            .where(Generation.masterplan_id.in_(masterplans))
            .values(masterplan_id=None),
        ]
    )
    levels.append([delete(MasterPlanRow).where(MasterPlanRow.id.in_(masterplans))])
    levels.append([delete(DiscoveryDocument).where(DiscoveryDocument.id.in_(discoveries))])
    return levels


def delete_masterplan(session: Session, masterplan_id: uuid.UUID) -> bool:
    """Delete one masterplan with its phases, milestones, tasks and subtasks.

    The generation that produced it stays (its `masterplan_id` is cleared). Returns False
    when no such masterplan exists.
    """
    if session.get(MasterPlanRow, masterplan_id) is None:
        return False
    plans = select(MasterPlanRow.id).where(MasterPlanRow.id == masterplan_id)
    levels = _plan_levels(plans)
    levels.append(
        [
            update(Generation)
            .where(Generation.masterplan_id == masterplan_id)
            .values(masterplan_id=None)
        ]
    )
    levels.append([delete(MasterPlanRow).where(MasterPlanRow.id == masterplan_id)])
    _run_levels(session, levels)
    return True


def delete_generation(session: Session, generation_id: uuid.UUID) -> bool:
    """Delete one generation and everything it produced.

    Gone: its attempts, chunks, events, the discovery documents and masterplans it
    produced (with their whole tree). Experiment runs that measured it keep their figures
    and lose the link. Returns False when no such generation exists.
    """
    if session.get(Generation, generation_id) is None:
        return False
    generations = select(Generation.id).where(Generation.id == generation_id)
    plans = select(MasterPlanRow.id).where(MasterPlanRow.generation_id == generation_id)
    discoveries = select(DiscoveryDocument.id).where(
        DiscoveryDocument.generation_id == generation_id
    )
    levels = _generation_and_plan_levels(generations, plans, discoveries)
    levels.append([delete(Generation).where(Generation.id == generation_id)])
    _run_levels(session, levels)
    return True


def delete_experiment(session: Session, experiment_id: uuid.UUID) -> bool:
    """Delete one experiment and its runs (the generations they ran stay)."""
    if session.get(Experiment, experiment_id) is None:
        return False
    _run_levels(
        session,
        [
            [delete(ExperimentRun).where(ExperimentRun.experiment_id == experiment_id)],
            [delete(Experiment).where(Experiment.id == experiment_id)],
        ],
    )
    return True


def delete_user_rows(session: Session, user_id: uuid.UUID) -> bool:
    """Delete a user and everything they own: generations, plans, experiments, sessions."""
    if session.get(User, user_id) is None:
        return False
    generations = select(Generation.id).where(Generation.user_id == user_id)
    plans = select(MasterPlanRow.id).where(
        or_(MasterPlanRow.user_id == user_id, MasterPlanRow.generation_id.in_(generations))
    )
    discoveries = select(DiscoveryDocument.id).where(
        or_(
            DiscoveryDocument.user_id == user_id,
            DiscoveryDocument.generation_id.in_(generations),
        )
    )
    experiments = select(Experiment.id).where(Experiment.user_id == user_id)
    levels = _generation_and_plan_levels(generations, plans, discoveries)
    levels[0].append(delete(ExperimentRun).where(ExperimentRun.experiment_id.in_(experiments)))
    levels[1].append(delete(Experiment).where(Experiment.id.in_(experiments)))
    levels[0].append(delete(SessionFamily).where(SessionFamily.user_id == user_id))
    levels.append([delete(Generation).where(Generation.id.in_(generations))])
    levels.append([delete(User).where(User.id == user_id)])
    _run_levels(session, levels)
    return True
