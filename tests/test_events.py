"""The event contract in use: gap-free seqs, stored as published, complete, in lifecycle order."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select

from planner.auth import get_or_create_local_user
from planner.db import Database, GenerationEvent, MasterPlanRow
from planner.events import EventBus, EventMessage
from planner.plan import GenerationRequest, prepare, run_generation
from planner.plan.parse import parse_masterplan
from tests.conftest import PREFILL_MODEL

DESCRIPTION = "A ticketing system for a small theatre with seat maps and season passes"


@pytest.fixture
def user_id(db: Database) -> uuid.UUID:
    prepare(db)
    return get_or_create_local_user(db).id


def run_watched(db: Database, user_id: uuid.UUID, **options: Any) -> tuple[Any, list[EventMessage]]:
    bus = EventBus()
    seen: list[EventMessage] = []
    handle = bus.subscribe(seen.append)
    outcome = run_generation(
        db,
        GenerationRequest(DESCRIPTION, user_id, **{"speed": 0, **options}),
        bus=bus,
    )
    bus.unsubscribe(handle, wait=True)
    return outcome, seen


def stored_events(db: Database, generation_id: uuid.UUID) -> list[tuple[int, str, dict[str, Any]]]:
    with db.session() as session:
        rows = session.execute(
            select(GenerationEvent.seq, GenerationEvent.name, GenerationEvent.payload)
            .where(GenerationEvent.generation_id == generation_id)
            .order_by(GenerationEvent.seq)
        ).all()
    return [tuple(row) for row in rows]


def lifecycle(names: list[str]) -> list[str]:
    noisy = {"masterplan_tokens_progress", "masterplan_text_delta"}
    return [name for name in names if name not in noisy]


def test_every_event_is_stored_under_its_bus_seq_gap_free_and_in_lifecycle_order(
    db: Database, user_id: uuid.UUID
) -> None:
    outcome, seen = run_watched(db, user_id)
    assert outcome.status == "completed"
    assert {m.generation_id for m in seen} == {outcome.generation_id}
    assert [m.seq for m in seen] == list(range(1, len(seen) + 1))
    assert stored_events(db, outcome.generation_id) == [(m.seq, m.name, m.payload) for m in seen]
    assert lifecycle([m.name for m in seen]) == [
        "masterplan_generation_start",
        "masterplan_parsing_complete",
        "masterplan_validation_start",
        "masterplan_saving_start",
        "masterplan_generation_complete",
    ]
    complete = seen[-1].to_message()
    assert complete["name"] == "masterplan_generation_complete" and complete["seq"] == len(seen)
    assert complete["masterplan_id"] == str(outcome.masterplan_id)
    assert complete["total_tasks"] == outcome.tasks
    assert complete["output_tokens"] == outcome.output_tokens
    parsing = next(m.payload for m in seen if m.name == "masterplan_parsing_complete")
    assert (parsing["total_phases"], parsing["total_tasks"]) == (outcome.phases, outcome.tasks)
    saving = next(m.payload for m in seen if m.name == "masterplan_saving_start")
    assert saving["total_entities"] == 1 + outcome.phases + outcome.milestones + outcome.tasks + (
        outcome.subtasks
    )


def test_progress_is_real_and_the_text_deltas_rebuild_the_answer(
    db: Database, user_id: uuid.UUID
) -> None:
    outcome, seen = run_watched(db, user_id)
    progress = [m.payload for m in seen if m.name == "masterplan_tokens_progress"]
    percentages = [p["percentage"] for p in progress]
    assert len(progress) > 10  # many real updates (deltas are coalesced per batch), not a timer
    assert percentages == sorted(percentages) and percentages[-1] == 100.0
    assert progress[-1]["tokens_received"] == progress[-1]["estimated_total"]
    assert (
        0.8 * outcome.output_tokens < progress[-1]["tokens_received"] < 1.2 * outcome.output_tokens
    )
    assert any(p["current_phase"].startswith("Phase 2") for p in progress)
    text = ""
    for message in seen:
        if message.name == "masterplan_text_delta" and message.payload["stage"] == "masterplan":
            text = text[: message.payload["from_char"]] + message.payload["text"]
    with db.session() as session:
        stored = session.get(MasterPlanRow, outcome.masterplan_id).plan_json
    assert parse_masterplan(text).model_dump(mode="json") == stored


def test_each_recovery_is_an_event_and_the_error_ends_a_failed_generation(
    db: Database, user_id: uuid.UUID
) -> None:
    recovered, seen = run_watched(db, user_id, faults="drop-at-90", model=PREFILL_MODEL)
    recoveries = [m.payload for m in seen if m.name == "masterplan_recovery"]
    assert [(r["attempt"], r["tier"]) for r in recoveries] == [(1, "resume"), (3, "resume")]
    assert all(r["reason"].startswith("connection_dropped: ") for r in recoveries)
    assert recoveries[1]["resume_from_char"] > 1000
    assert lifecycle([m.name for m in seen])[-1] == "masterplan_generation_complete"

    failed, seen = run_watched(db, user_id, strategy="none", faults="drop-at-90")
    assert failed.status == "failed"
    names = lifecycle([m.name for m in seen])
    assert names == ["masterplan_generation_start", "masterplan_generation_error"]
    error = seen[-1].payload
    assert error["tier"] == "failed" and error["message"] == failed.error
    assert stored_events(db, failed.generation_id)[-1][1] == "masterplan_generation_error"
