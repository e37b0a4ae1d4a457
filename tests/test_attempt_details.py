"""Each attempt's HTTP status, rate-limit headers, thinking tokens, max_tokens and the
strategy's decision are stored as the client reported them, and a recorded failure is
replayed from the stored status, not from words in an error message."""

from __future__ import annotations

from sqlalchemy import select

from planner.auth import get_or_create_local_user
from planner.db import Database, GenerationAttempt
from planner.failures import failure_points
from planner.plan import GenerationRequest, run_generation


def test_a_rate_limited_request_is_stored_with_its_status_and_the_retry_with_200(
    db: Database,
) -> None:
    user = get_or_create_local_user(db)
    outcome = run_generation(
        db, GenerationRequest("A library's room booking", user.id, faults="rate-limited", speed=0)
    )
    assert outcome.completed, outcome.error
    attempts = db.in_session(
        lambda s: [
            (a.number, a.stage, a.http_status, a.max_tokens, a.decision, a.thinking_tokens)
            for a in s.scalars(
                select(GenerationAttempt)
                .where(GenerationAttempt.generation_id == outcome.generation_id)
                .order_by(GenerationAttempt.number)
            )
        ]
    )
    failed = [a for a in attempts if a[2] == 429]
    assert failed, attempts
    assert all(a[3] is not None and a[3] > 0 for a in attempts)  # max_tokens sent
    assert all(a[4] for a in failed)  # what the strategy decided after each failure
    assert attempts[-1][2] == 200
    points = failure_points(db, outcome.generation_id)
    assert {p.http_status for p in points} == {429}
