"""Each attempt's HTTP status, rate-limit headers, thinking tokens, max_tokens and the
strategy's decision are stored as the client reported them, and a recorded failure is
replayed from the stored status, not from words in an error message."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select

from planner.analysis import attempts_table
from planner.auth import get_or_create_local_user
from planner.db import Database, GenerationAttempt
from planner.failures import failure_points
from planner.plan import GenerationRequest, run_generation
from planner.plan.settings import GenerationSettings


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


def test_each_attempts_thinking_is_counted_or_said_to_be_unknown(db: Database) -> None:
    """A drop at 90% of discovery: with the thinking shown in summary (claude-sonnet-4-6,
    asked to think in discovery) the dropped attempt's thinking is counted from the text
    received; omitted (claude-sonnet-5-5) it is unknown, as the count comes only at the
    stream's end: the attempts table says so (NA, shown as `unknown`), never 0."""
    user = get_or_create_local_user(db)
    thinks = GenerationSettings.from_json(
        {"discovery": {"thinking": "adaptive"}, "masterplan": {"thinking": "model"}}
    )

    def first_discovery(model: str, settings: GenerationSettings | None) -> pd.Series:
        request = GenerationRequest(
            "A library's room booking",
            user.id,
            faults="drop-at-90",
            speed=0,
            model=model,
            settings=settings,
        )
        outcome = run_generation(db, request)
        assert outcome.completed, outcome.error
        attempts = attempts_table(db, outcome.generation_id)
        assert (attempts["thinking_tokens"].fillna(0) <= attempts["output_tokens"]).all()
        first = attempts[attempts["stage"] == "discovery"].iloc[0]
        assert first["error_type"] == "connection_dropped"
        return first

    assert first_discovery("claude-sonnet-4-6", thinks)["thinking_tokens"] > 0
    assert pd.isna(first_discovery("claude-sonnet-5-5", None)["thinking_tokens"])
