"""A hand-written recorded generation, inserted through the ORM.

Export, replay and fault-spec derivation read stored rows; these tests need rows whose
every value is known in advance, including failures no simulator run would produce on
demand (an attempt dropped at an exact character, a 529 before the stream).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from planner import db
from planner.db.models import (
    Generation,
    GenerationAttempt,
    GenerationChunk,
    GenerationEvent,
    User,
    utcnow,
)

TEXT = "".join(f"word{index:03d} " for index in range(60))  # 480 chars
CHUNK_CHARS = 40


def migrate(database_url: str | None = None) -> None:
    """Bring the database to head (creating the DuckDB file's folder first)."""
    db.get_engine(database_url)
    db.upgrade(database_url)


def insert_generation(
    database_url: str | None = None,
    *,
    chunks_ms: int = 20,
    attempts: list[dict[str, Any]] | None = None,
    user_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """A generation of TEXT in chunks of 40 chars, one every `chunks_ms`, with `attempts`.

    Default attempts: attempt 1 is dropped after 200 chars (a connection reset),
    attempt 2 resumes from char 200 and completes.
    """
    attempts = attempts or [
        {
            "number": 1,
            "kind": "stream",
            "chars": 200,
            "error_type": "connection_dropped",
            "error_message": "peer closed connection",
            "resume_from_char": 0,
        },
        {
            "number": 2,
            "kind": "resume",
            "chars": 280,
            "resume_from_char": 200,
            "stop_reason": "end_turn",
        },
    ]
    started = utcnow() - timedelta(minutes=5)
    generation_id = uuid.uuid4()
    with db.session_scope(database_url) as session:
        if user_id is None:
            user = User(username=f"u{uuid.uuid4().hex[:10]}", can_login=False)
            session.add(user)
            session.flush()
            user_id = user.id
        session.add(
            Generation(
                id=generation_id,
                user_id=user_id,
                description="a test shop",
                strategy="resume",
                fault_spec="drop-at-90",
                model="claude-sonnet-5-5",
                status="completed",
                stage="done",
                tier="resume",
                started_at=started,
                finished_at=started + timedelta(seconds=2),
                duration_s=2.0,
                attempts=len(attempts),
                output_tokens=130,
                chars=len(TEXT),
                checkpoint_text=TEXT,
                checkpoint_offset=len(TEXT),
            )
        )
        session.flush()
        seq = 0
        t_ms = 0
        for given in attempts:
            attempt = {"stage": "masterplan", **given}
            first_ms = t_ms
            offset = attempt.get("resume_from_char", 0)
            end = offset + attempt["chars"]
            while offset < end:
                size = min(CHUNK_CHARS, end - offset)
                seq += 1
                t_ms += chunks_ms
                session.add(
                    GenerationChunk(
                        generation_id=generation_id,
                        seq=seq,
                        attempt=attempt["number"],
                        stage=attempt["stage"],
                        char_offset=offset,
                        chars=size,
                        t_ms=t_ms,
                    )
                )
                offset += size
            session.add(
                GenerationAttempt(
                    generation_id=generation_id,
                    start_ms=first_ms,
                    end_ms=t_ms + 5,
                    started_at=started + timedelta(milliseconds=first_ms),
                    **attempt,
                )
            )
            t_ms += 50
        _insert_events(session, generation_id, started, chunks_ms)
    return generation_id


def _insert_events(session: Any, generation_id: uuid.UUID, started: Any, chunks_ms: int) -> None:
    """Start, a text delta per chunk, one recovery after char 200, completion."""
    events: list[tuple[int, str, dict[str, Any]]] = [
        (0, "masterplan_generation_start", {"description": "a test shop", "strategy": "resume"})
    ]
    t_ms = 0
    for offset in range(0, len(TEXT), CHUNK_CHARS):
        t_ms += chunks_ms
        if offset == 200:
            t_ms += 50
            events.append(
                (
                    t_ms,
                    "masterplan_recovery",
                    {
                        "attempt": 2,
                        "tier": "resume",
                        "reason": "connection_dropped",
                        "resume_from_char": 200,
                    },
                )
            )
        events.append(
            (
                t_ms,
                "masterplan_text_delta",
                {"text": TEXT[offset : offset + CHUNK_CHARS], "from_char": offset},
            )
        )
    events.append((t_ms + 10, "masterplan_generation_complete", {"total_tasks": 8}))
    for seq, (ms, name, payload) in enumerate(events, start=1):
        session.add(
            GenerationEvent(
                generation_id=generation_id,
                seq=seq,
                name=name,
                payload=payload,
                created_at=started + timedelta(milliseconds=ms),
            )
        )
