"""A generation as its stored events tell it: latest progress, recoveries, text, log.

The generation service records every event in `generation_events`; reading them back
is how a page that was refreshed, or opened in a second tab, catches up with a
generation running in another thread or process. Each read is bounded (latest progress
event, recoveries only, the last text deltas), so polling stays cheap however long the
generation gets.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import pandas as pd
from sqlalchemy import select

from planner.analysis._query import read_frame, read_one
from planner.db import Database, GenerationEvent
from planner.events import Recovery, TextDelta, TokensProgress

EVENT_COLUMNS = ("seq", "name", "created_at", "payload")
NOISY_EVENTS = (TokensProgress.name, TextDelta.name)


def latest_progress(db: Database, generation_id: uuid.UUID) -> dict[str, Any] | None:
    """The payload of the newest `masterplan_tokens_progress` event (plus its seq)."""
    row = read_one(
        db,
        select(GenerationEvent.seq, GenerationEvent.payload, GenerationEvent.created_at)
        .where(
            GenerationEvent.generation_id == generation_id,
            GenerationEvent.name == TokensProgress.name,
        )
        .order_by(GenerationEvent.seq.desc())
        .limit(1),
    )
    if row is None:
        return None
    return {**row["payload"], "seq": row["seq"], "created_at": row["created_at"]}


def recoveries(db: Database, generation_id: uuid.UUID) -> pd.DataFrame:
    """Every recovery event: seq, created_at, attempt, tier, reason, resume_from_char."""
    frame = events_log(db, generation_id, names=(Recovery.name,))
    columns = ["seq", "created_at", "attempt", "tier", "reason", "resume_from_char"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    payloads = pd.DataFrame(frame["payload"].tolist())
    for column in columns[2:]:
        if column not in payloads:
            payloads[column] = None
    return pd.concat([frame[["seq", "created_at"]], payloads[columns[2:]]], axis=1)


def events_log(
    db: Database,
    generation_id: uuid.UUID,
    *,
    names: Iterable[str] | None = None,
    exclude: Iterable[str] = (),
    limit: int | None = None,
) -> pd.DataFrame:
    """The stored events in seq order: all, only `names`, or all but `exclude`."""
    statement = (
        select(
            GenerationEvent.seq,
            GenerationEvent.name,
            GenerationEvent.created_at,
            GenerationEvent.payload,
        )
        .where(GenerationEvent.generation_id == generation_id)
        .order_by(GenerationEvent.seq)
    )
    if names is not None:
        statement = statement.where(GenerationEvent.name.in_(list(names)))
    excluded = list(exclude)
    if excluded:
        statement = statement.where(GenerationEvent.name.not_in(excluded))
    if limit is not None:
        statement = statement.limit(limit)
    frame = read_frame(db, statement)
    return frame if not frame.empty else pd.DataFrame(columns=list(EVENT_COLUMNS))


def assemble_tail(deltas: Iterable[tuple[int, str]], max_chars: int) -> str:
    """The end of the text that `(from_char, text)` deltas, in order, write.

    A delta that starts before the text already held (a restart from zero, a new stage,
    a resume that overlaps) rewrites from that point, as the stream itself did.
    """
    base = 0
    buffer = ""
    for from_char, text in deltas:
        if from_char < base or not buffer:
            base, buffer = from_char, text
        else:
            buffer = buffer[: from_char - base] + text
        if len(buffer) > 4 * max_chars:
            cut = len(buffer) - max_chars
            base, buffer = base + cut, buffer[cut:]
    return buffer[-max_chars:]


def text_tail(
    db: Database,
    generation_id: uuid.UUID,
    *,
    max_chars: int = 1500,
    recent_deltas: int = 400,
) -> str:
    """The last `max_chars` characters streamed so far, rebuilt from the newest text deltas."""
    statement = (
        select(GenerationEvent.seq, GenerationEvent.payload)
        .where(
            GenerationEvent.generation_id == generation_id,
            GenerationEvent.name == TextDelta.name,
        )
        .order_by(GenerationEvent.seq.desc())
        .limit(recent_deltas)
    )
    frame = read_frame(db, statement)
    if frame.empty:
        return ""
    ordered = frame.sort_values("seq")["payload"]
    return assemble_tail(
        ((int(p.get("from_char", 0)), str(p.get("text", ""))) for p in ordered), max_chars
    )
