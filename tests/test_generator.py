"""End to end on DuckDB and PostgreSQL: the real client against the real simulator.

Every generation runs at unlimited simulator speed; faults and seeds travel per request.
"""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from planner.auth import get_or_create_local_user
from planner.db import (
    Database,
    DiscoveryDocument,
    Generation,
    GenerationAttempt,
    GenerationChunk,
    MasterPlanRow,
    MilestoneRow,
    PhaseRow,
    SubtaskRow,
    TaskRow,
)
from planner.plan import GenerationOutcome, GenerationRequest, prepare, run_generation
from planner.plan.parse import parse_masterplan
from tests.conftest import PREFILL_MODEL

DESCRIPTION = "A platform for community gardens to share tools and schedule plots"


@pytest.fixture
def user_id(db: Database) -> uuid.UUID:
    prepare(db)
    return get_or_create_local_user(db).id


def generate(db: Database, user_id: uuid.UUID, **options: Any) -> GenerationOutcome:
    request = GenerationRequest(DESCRIPTION, user_id, **{"speed": 0, **options})
    return run_generation(db, request)


def stored_plan(db: Database, outcome: GenerationOutcome) -> dict[str, Any]:
    with db.session() as session:
        return session.get(MasterPlanRow, outcome.masterplan_id).plan_json


def attempts(db: Database, generation_id: uuid.UUID) -> list[tuple[int, str, str, str | None]]:
    with db.session() as session:
        rows = session.scalars(
            select(GenerationAttempt)
            .where(GenerationAttempt.generation_id == generation_id)
            .order_by(GenerationAttempt.number)
        )
        return [(a.number, a.stage, a.kind, a.error_type) for a in rows]


def test_the_database_holds_exactly_what_the_result_says(db: Database, user_id: uuid.UUID) -> None:
    outcome = generate(db, user_id, seed=3)
    result = outcome.to_json()
    assert result["status"] == "completed" and result["error"] is None
    assert result["tier"] == "stream" and result["attempts"] == 2
    mid = outcome.masterplan_id
    with db.session() as session:

        def count(model: type) -> int:
            return session.scalar(
                select(func.count()).select_from(model).where(model.masterplan_id == mid)
            )

        assert count(PhaseRow) == result["phases"] > 0
        assert count(MilestoneRow) == result["milestones"]
        assert count(TaskRow) == result["tasks"]
        assert count(SubtaskRow) == result["subtasks"]
        plan_row = session.get(MasterPlanRow, mid)
        assert (plan_row.total_tasks, plan_row.total_subtasks) == (
            result["tasks"],
            result["subtasks"],
        )
        assert plan_row.user_id == user_id and plan_row.generation_id == outcome.generation_id
        generation = session.get(Generation, outcome.generation_id)
        assert generation.status == "completed" and generation.masterplan_id == mid
        assert (generation.strategy, generation.fault_spec, generation.seed, generation.speed) == (
            "resume",
            "none",
            3,
            0.0,
        )
        assert generation.owner_pid is not None and generation.owner_host
        assert generation.output_tokens == result["output_tokens"] > 1000
        assert generation.attempts == 2 and generation.finished_at is not None
        assert generation.cache_creation_input_tokens + generation.cache_read_input_tokens > 0
        # the last checkpoint is the whole MasterPlan answer
        assert (
            parse_masterplan(generation.checkpoint_text).model_dump(mode="json")
            == plan_row.plan_json
        )
        assert generation.checkpoint_offset == len(generation.checkpoint_text) == generation.chars
        discovery = session.scalars(
            select(DiscoveryDocument).where(
                DiscoveryDocument.generation_id == outcome.generation_id
            )
        ).one()
        assert plan_row.discovery_id == discovery.id and discovery.task_count == result["tasks"]
        chunks = session.execute(
            select(
                GenerationChunk.seq,
                GenerationChunk.stage,
                GenerationChunk.char_offset,
                GenerationChunk.chars,
            )
            .where(GenerationChunk.generation_id == outcome.generation_id)
            .order_by(GenerationChunk.seq)
        ).all()
    assert [c.seq for c in chunks] == list(range(1, len(chunks) + 1))
    plan_chunks = [c for c in chunks if c.stage == "masterplan"]
    assert sum(c.chars for c in plan_chunks) == len(generation.checkpoint_text)
    assert all(a.char_offset + a.chars == b.char_offset for a, b in itertools.pairwise(plan_chunks))


def test_drop_at_90_with_resume_stores_the_same_plan_as_a_fault_free_run(
    db: Database, user_id: uuid.UUID
) -> None:
    clean = generate(db, user_id, model=PREFILL_MODEL)
    dropped = generate(db, user_id, faults="drop-at-90", model=PREFILL_MODEL)
    assert dropped.status == "completed" and dropped.tier == "resume"
    assert stored_plan(db, dropped) == stored_plan(db, clean)
    assert attempts(db, dropped.generation_id) == [
        (1, "discovery", "stream", "connection_dropped"),
        (2, "discovery", "resume", None),
        (3, "masterplan", "stream", "connection_dropped"),
        (4, "masterplan", "resume", None),
    ]
    assert dropped.wasted_output_tokens < clean.output_tokens * 0.02


def test_hybrid_fails_on_the_truncated_partial_as_the_original_did(
    db: Database, user_id: uuid.UUID
) -> None:
    # The original system's server cut the long MasterPlan stream; the short discovery
    # got through. hybrid keeps the partial text, which is not valid JSON.
    cut = '[{"type": "cutoff", "after_s": 20}]'
    outcome = generate(db, user_id, strategy="hybrid", faults=cut)
    assert outcome.status == "failed" and outcome.tier == "partial"
    assert outcome.masterplan_id is None and outcome.tasks == 0
    assert outcome.error.startswith("the MasterPlan stream broke off after ")
    assert "the MasterPlan answer is invalid: the JSON stops after" in outcome.error
    assert "truncated answer" in outcome.error
    assert [a[1:] for a in attempts(db, outcome.generation_id)] == [
        ("discovery", "stream", None),
        ("masterplan", "stream", "connection_dropped"),
    ]
    with db.session() as session:
        generation = session.get(Generation, outcome.generation_id)
        assert (generation.status, generation.tier, generation.error) == (
            "failed",
            "partial",
            outcome.error,
        )
        assert session.scalar(select(func.count()).select_from(MasterPlanRow)) == 0
    resumed = generate(db, user_id, strategy="resume", faults=cut)
    assert resumed.status == "completed" and resumed.tier == "resume"


def test_corrupt_output_goes_through_the_repair_round(db: Database, user_id: uuid.UUID) -> None:
    clean = generate(db, user_id)
    repaired = generate(db, user_id, faults="corrupt")
    assert repaired.status == "completed"
    assert [a[1] for a in attempts(db, repaired.generation_id)] == [
        "discovery",
        "discovery_repair",
        "masterplan",
        "plan_repair",
    ]
    assert stored_plan(db, repaired) == stored_plan(db, clean)
    assert repaired.wasted_output_tokens >= clean.output_tokens * 0.9


def test_an_answer_still_invalid_after_the_repair_round_fails_saying_why(
    db: Database, user_id: uuid.UUID
) -> None:
    always = '[{"type": "corrupt", "drop_brackets": 2}]'
    outcome = generate(db, user_id, faults=always)
    assert outcome.status == "failed" and outcome.masterplan_id is None
    assert outcome.error.startswith("the discovery answer is invalid: invalid JSON at line ")
    assert "still invalid after one repair round" in outcome.error
    assert [a[1] for a in attempts(db, outcome.generation_id)] == [
        "discovery",
        "discovery_repair",
    ]
