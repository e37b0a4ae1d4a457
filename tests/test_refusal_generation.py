"""A refusal in a generation: it fails unretried, and the recovery event it stores (and
publishes) says `discard`, so a client showing the text drops what it showed."""

from __future__ import annotations

from sqlalchemy import select

from planner.auth import get_or_create_local_user
from planner.db import Database, GenerationEvent
from planner.plan import GenerationRequest, run_generation

REFUSE_MIDWAY = '[{"type": "refusal", "at_fraction": 0.5, "category": "cyber"}]'


def test_a_refused_generation_fails_and_its_recovery_event_says_discard(db: Database) -> None:
    user = get_or_create_local_user(db)
    outcome = run_generation(
        db, GenerationRequest("A bakery's ordering site", user.id, faults=REFUSE_MIDWAY, speed=0)
    )
    assert outcome.status == "failed"
    payloads = db.read(
        lambda conn: list(
            conn.scalars(
                select(GenerationEvent.payload).where(
                    GenerationEvent.generation_id == outcome.generation_id,
                    GenerationEvent.name == "masterplan_recovery",
                )
            )
        )
    )
    [recovery] = payloads  # a refusal is never retried
    assert recovery["decision"] == "discard"
    assert recovery["tier"] == "failed" and recovery["resume_from_char"] == 0
