"""What the Socket.IO endpoint reads from the database: ownership and stored events.

Both answers are written by the generation store (`generations`, and the recording's
`generation_events`); the endpoint only reads them, on a worker thread, through the
`Database` its front end made (with the DuckDB lock retry).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from planner.db import Database, Generation, GenerationEvent
from planner.events import EventMessage


@dataclass(frozen=True)
class GenerationInfo:
    generation_id: uuid.UUID
    user_id: uuid.UUID
    status: str


def generation_info(db: Database, generation_id: uuid.UUID) -> GenerationInfo | None:
    """The generation's owner and status, or None if there is no such generation."""
    db.ensure_schema()

    def read(session: Session) -> GenerationInfo | None:
        row = session.execute(
            select(Generation.user_id, Generation.status).where(Generation.id == generation_id)
        ).first()
        return None if row is None else GenerationInfo(generation_id, row[0], row[1])

    return db.in_session(read)


@dataclass(frozen=True)
class StoredEvents:
    events: list[dict[str, Any]]
    last_stored_seq: int
    has_more: bool


def stored_events_after(
    db: Database, generation_id: uuid.UUID, after_seq: int, limit: int
) -> StoredEvents:
    """Up to `limit` stored events with seq > after_seq, in seq order, in wire form."""

    def read(session: Session) -> StoredEvents:
        rows = session.execute(
            select(GenerationEvent.seq, GenerationEvent.name, GenerationEvent.payload)
            .where(GenerationEvent.generation_id == generation_id)
            .where(GenerationEvent.seq > after_seq)
            .order_by(GenerationEvent.seq)
            .limit(limit + 1)
        ).all()
        last = session.scalar(
            select(func.max(GenerationEvent.seq)).where(
                GenerationEvent.generation_id == generation_id
            )
        )
        events = [
            EventMessage(generation_id, seq, name, dict(payload or {})).to_message()
            for seq, name, payload in rows[:limit]
        ]
        return StoredEvents(events, int(last or 0), len(rows) > limit)

    return db.in_session(read)


@dataclass(frozen=True)
class DatabaseReads:
    """These reads on one Database: what `RealtimeServer(reads=...)` takes by default."""

    db: Database

    def generation_info(self, generation_id: uuid.UUID) -> GenerationInfo | None:
        return generation_info(self.db, generation_id)

    def stored_events_after(
        self, generation_id: uuid.UUID, after_seq: int, limit: int
    ) -> StoredEvents:
        return stored_events_after(self.db, generation_id, after_seq, limit)
