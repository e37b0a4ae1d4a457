"""Deletes cascade in code, leaves first, and touch nobody else's rows (DuckDB and PostgreSQL)."""

from __future__ import annotations

import uuid

from planner import auth
from planner.db import (
    Database,
    Experiment,
    ExperimentRun,
    Generation,
    MasterPlanRow,
    delete_experiment,
    delete_generation,
    delete_masterplan,
    delete_user_rows,
)
from tests.rows import Tree, add_tree, add_user, row_counts

ONE_TREE = {
    "users": 1,
    "generations": 1,
    "generation_attempts": 2,
    "generation_chunks": 3,
    "generation_events": 2,
    "generation_checkpoints": 2,
    "generation_leases": 1,
    "discovery_documents": 1,
    "masterplans": 1,
    "masterplan_phases": 2,
    "masterplan_milestones": 2,
    "masterplan_tasks": 3,
    "masterplan_subtasks": 4,
    "experiments": 1,
    "experiment_runs": 1,
    "session_families": 1,
    "login_attempts": 1,
}
# Rows no delete touches: a throttle's counted attempts belong to a name or an address,
# not to a user, and leave their window on their own.
UNOWNED = {"login_attempts"}


def _after_deleting_one_user() -> dict[str, int]:
    return {name: n * (2 if name in UNOWNED else 1) for name, n in ONE_TREE.items()}


def _two_users(db: Database) -> tuple[Tree, Tree]:
    db.ensure_schema()
    with db.session() as session:
        ann = add_tree(session, add_user(session, "ann"), tag="ann")
        ben = add_tree(session, add_user(session, "ben"), tag="ben")
    return ann, ben


def _counts(db: Database) -> dict[str, int]:
    with db.session() as session:
        return row_counts(session)


def test_the_fixture_fills_every_table(db: Database) -> None:
    _two_users(db)
    assert _counts(db) == {name: 2 * n for name, n in ONE_TREE.items()}


def test_delete_generation_removes_what_it_produced_and_keeps_experiment_figures(
    db: Database,
) -> None:
    ann, ben = _two_users(db)
    with db.session() as session:
        assert delete_generation(session, ann.generation_id) is True
    expected = {name: 2 * n for name, n in ONE_TREE.items()}
    for name in ONE_TREE:
        if name not in {"users", "experiments", "experiment_runs", "session_families", *UNOWNED}:
            expected[name] -= ONE_TREE[name]
    assert _counts(db) == expected
    with db.session() as session:
        runs = {run.experiment_id: run.generation_id for run in session.query(ExperimentRun)}
        assert runs == {ann.experiment_id: None, ben.experiment_id: ben.generation_id}
        assert session.get(MasterPlanRow, ben.masterplan_id) is not None


def test_delete_masterplan_keeps_the_generation_and_clears_its_link(db: Database) -> None:
    ann, _ = _two_users(db)
    with db.session() as session:
        assert delete_masterplan(session, ann.masterplan_id) is True
    counts = _counts(db)
    for name in ("masterplans", "masterplan_phases", "masterplan_milestones"):
        assert counts[name] == ONE_TREE[name]
    assert (counts["masterplan_tasks"], counts["masterplan_subtasks"]) == (3, 4)
    assert counts["generations"] == counts["discovery_documents"] == 2
    assert counts["generation_chunks"] == 6
    with db.session() as session:
        assert session.get(Generation, ann.generation_id).masterplan_id is None


def test_delete_user_removes_everything_they_own_and_nothing_else(db: Database) -> None:
    ann, ben = _two_users(db)
    with db.session() as session:
        assert delete_user_rows(session, ann.user_id) is True
    assert _counts(db) == _after_deleting_one_user()
    with db.session() as session:
        assert session.get(Experiment, ben.experiment_id) is not None
        assert session.get(Generation, ben.generation_id).masterplan_id == ben.masterplan_id


def test_auth_delete_user_cascades(db: Database) -> None:
    ann, _ = _two_users(db)
    auth.delete_user(db, "ann")
    assert _counts(db) == _after_deleting_one_user()


def test_delete_experiment_keeps_the_generations_it_ran(db: Database) -> None:
    ann, _ = _two_users(db)
    with db.session() as session:
        assert delete_experiment(session, ann.experiment_id) is True
    counts = _counts(db)
    assert (counts["experiments"], counts["experiment_runs"], counts["generations"]) == (1, 1, 2)


def test_deleting_what_does_not_exist_returns_false_and_changes_nothing(
    db: Database,
) -> None:
    _two_users(db)
    before = _counts(db)
    missing = uuid.uuid4()
    with db.session() as session:
        assert delete_generation(session, missing) is False
        assert delete_masterplan(session, missing) is False
        assert delete_experiment(session, missing) is False
        assert delete_user_rows(session, missing) is False
    assert _counts(db) == before


def test_a_repeated_delete_is_harmless(db: Database) -> None:
    ann, _ = _two_users(db)
    with db.session() as session:
        delete_generation(session, ann.generation_id)
    after_first = _counts(db)
    with db.session() as session:
        assert delete_generation(session, ann.generation_id) is False
    assert _counts(db) == after_first
