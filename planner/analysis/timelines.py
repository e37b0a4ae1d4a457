"""Chunk timelines: what arrived when, per attempt, and where the faults hit.

A generation can have hundreds of thousands of chunks; a chart needs a few thousand
points at most. `chunk_timeline` therefore downsamples in the database: it splits the
time span into equal buckets and keeps, per (attempt, bucket), the last arrival time and
the furthest character reached. The shape of every attempt's curve survives (each curve
is monotone within an attempt), and only `max_points`-ish rows leave the database.

Characters are stored per stage (discovery, then the plan, each from 0); the chart counts
them over the whole generation (`generation_chars`: each stage starts where the one before
ended), so a resumed discovery attempt is as visible as a resumed plan attempt.
"""

from __future__ import annotations

import math
import uuid

import pandas as pd
from sqlalchemy import Integer, func, literal, select

from planner.analysis._query import read_frame, read_one
from planner.db import Database, GenerationAttempt, GenerationChunk
from planner.store.batch import CHUNK_COLUMNS

TIMELINE_COLUMNS = ("attempt", "stage", "t_s", "chars_end", "generation_chars", "chunks")
MARKER_COLUMNS = (
    "attempt",
    "stage",
    "kind",
    "t_s",
    "chars_end",
    "generation_chars",
    "error_type",
    "error_message",
)
ATTEMPT_COLUMNS = (
    "number",
    "stage",
    "kind",
    "start_s",
    "end_s",
    "duration_s",
    "resume_from_char",
    "chars",
    "output_tokens",
    "thinking_tokens",
    "stop_reason",
    "error_type",
    "error_message",
    "request_id",
)


def chunk_timeline(
    db: Database, generation_id: uuid.UUID, *, max_points: int = 2000
) -> pd.DataFrame:
    """Cumulative characters over time, one row per plotted point.

    Columns: attempt, stage, t_s (seconds since the generation started), chars_end (the
    character offset reached within the stage) and chunks (how many chunks the point
    stands for: 1 unless downsampled).
    """
    if max_points < 2:
        raise ValueError(f"max_points must be at least 2, got {max_points}")
    of_generation = GenerationChunk.generation_id == generation_id
    span = read_one(
        db,
        select(
            func.count().label("n"),
            func.min(GenerationChunk.t_ms).label("first_ms"),
            func.max(GenerationChunk.t_ms).label("last_ms"),
        ).where(of_generation),
    )
    if span is None or not span["n"]:
        return pd.DataFrame(columns=list(TIMELINE_COLUMNS))
    chars_end = GenerationChunk.char_offset + GenerationChunk.chars
    if span["n"] <= max_points:
        statement = (
            select(
                GenerationChunk.attempt,
                GenerationChunk.stage,
                GenerationChunk.t_ms,
                chars_end.label("chars_end"),
                literal(1, Integer).label("chunks"),
            )
            .where(of_generation)
            .order_by(GenerationChunk.seq)
        )
    else:
        bucket_ms = max(1, math.ceil((span["last_ms"] - span["first_ms"] + 1) / max_points))
        bucket = (GenerationChunk.t_ms - span["first_ms"]) // bucket_ms
        statement = (
            select(
                GenerationChunk.attempt,
                GenerationChunk.stage,
                func.max(GenerationChunk.t_ms).label("t_ms"),
                func.max(chars_end).label("chars_end"),
                func.count().label("chunks"),
            )
            .where(of_generation)
            .group_by(GenerationChunk.attempt, GenerationChunk.stage, bucket)
            .order_by(func.max(GenerationChunk.t_ms), GenerationChunk.attempt)
        )
    frame = read_frame(db, statement)
    frame["t_s"] = frame.pop("t_ms").astype(float) / 1000.0
    frame["chars_end"] = frame["chars_end"].astype(int)
    offsets = stage_offsets(frame["stage"], frame["chars_end"])
    frame["generation_chars"] = frame["chars_end"] + frame["stage"].map(offsets)
    return frame[list(TIMELINE_COLUMNS)].astype(
        {"chunks": int, "generation_chars": int, "attempt": int}
    )


def stage_offsets(stages: pd.Series, chars_end: pd.Series) -> dict[str, int]:
    """Characters streamed before each stage began, the stages in the order they appear."""
    reached = chars_end.astype(int).groupby(stages, sort=False).max()
    before = reached.cumsum().shift(fill_value=0)
    return {str(stage): int(value) for stage, value in before.items()}


def attempts_table(db: Database, generation_id: uuid.UUID) -> pd.DataFrame:
    """Every HTTP attempt of the generation, in order, with times in seconds."""
    statement = (
        select(
            GenerationAttempt.number,
            GenerationAttempt.stage,
            GenerationAttempt.kind,
            GenerationAttempt.start_ms,
            GenerationAttempt.end_ms,
            GenerationAttempt.resume_from_char,
            GenerationAttempt.chars,
            GenerationAttempt.output_tokens,
            GenerationAttempt.thinking_tokens,
            GenerationAttempt.stop_reason,
            GenerationAttempt.error_type,
            GenerationAttempt.error_message,
            GenerationAttempt.request_id,
        )
        .where(GenerationAttempt.generation_id == generation_id)
        .order_by(GenerationAttempt.number)
    )
    frame = read_frame(db, statement)
    if frame.empty:
        return pd.DataFrame(columns=list(ATTEMPT_COLUMNS))
    frame["start_s"] = frame.pop("start_ms").astype(float) / 1000.0
    frame["end_s"] = pd.to_numeric(frame.pop("end_ms"), errors="coerce") / 1000.0
    frame["duration_s"] = frame["end_s"] - frame["start_s"]
    # Of its output tokens, the thinking ones; missing (NA) where not known: the attempt
    # thought with its thinking omitted and died before the server said how much.
    frame["thinking_tokens"] = pd.to_numeric(frame["thinking_tokens"]).astype("Int64")
    return frame[list(ATTEMPT_COLUMNS)]


def fault_markers(attempts: pd.DataFrame) -> pd.DataFrame:
    """Where each failed attempt stopped: (t_s, chars_end) points for the timeline chart."""
    failed = attempts[attempts["error_type"].notna()] if not attempts.empty else attempts
    if failed.empty:
        return pd.DataFrame(columns=list(MARKER_COLUMNS))
    offsets = stage_offsets(attempts["stage"], attempts["resume_from_char"] + attempts["chars"])
    chars_end = (failed["resume_from_char"] + failed["chars"]).astype(int)
    markers = pd.DataFrame(
        {
            "attempt": failed["number"].astype(int),
            "stage": failed["stage"],
            "kind": failed["kind"],
            "t_s": failed["end_s"].fillna(failed["start_s"]),
            "chars_end": chars_end,
            "generation_chars": chars_end + failed["stage"].map(offsets).astype(int),
            "error_type": failed["error_type"],
            "error_message": failed["error_message"].fillna(""),
        }
    )
    return markers.reset_index(drop=True)


def chunk_rows(db: Database, generation_id: uuid.UUID) -> pd.DataFrame:
    """Every chunk of the generation (for the timeline CSV download and notebooks)."""
    statement = (
        select(
            GenerationChunk.seq,
            GenerationChunk.attempt,
            GenerationChunk.stage,
            GenerationChunk.char_offset,
            GenerationChunk.chars,
            GenerationChunk.t_ms,
        )
        .where(GenerationChunk.generation_id == generation_id)
        .order_by(GenerationChunk.seq)
    )
    frame = read_frame(db, statement)
    return frame if not frame.empty else pd.DataFrame(columns=list(CHUNK_COLUMNS))


def timeline_csv(db: Database, generation_id: uuid.UUID) -> str:
    return chunk_rows(db, generation_id).to_csv(index=False)
