"""Reopening an interrupted generation for a resume, inside one transaction.

The claim is atomic (only one process can win it: the row moves from `interrupted` to
`running` under a conditional UPDATE) and takes a new lease epoch, so whatever runner
had the generation before can write nothing more. The attempt a process death cut short gets a row
of its own (its chunks are stored, the attempt record never was). The answer says where
the generation continues: the discovery if it was finished, the stage's checkpoint text
rebuilt from its stored segments, and where every numbering continues.
"""

from __future__ import annotations

import os
import socket
import uuid
from typing import Any

from sqlalchemy import Connection, func, insert, select

from planner.db import (
    DiscoveryDocument,
    Generation,
    GenerationAttempt,
    GenerationCheckpoint,
    GenerationChunk,
    GenerationEvent,
    utcnow,
)
from planner.store.checkpoints import CheckpointState, rebuild
from planner.store.errors import GenerationNotFound, GenerationNotResumable
from planner.store.lease import Lease, take
from planner.store.pending import Positions
from planner.store.spec import GenerationSpec, ResumePoint, spec_of
from planner.store.status import LIVE_STATUSES, GenerationStatus, move
from planner.tokens import count_tokens

LOST_ATTEMPT_ERROR = "process_interrupted"
FALLBACK_CHARS_PER_TOKEN = 3.5


def refusal(row: Any) -> str | None:
    """Why the generation cannot be resumed (None: it can)."""
    if row.status == GenerationStatus.INTERRUPTED:
        return None
    if row.status in LIVE_STATUSES:
        return (
            f"generation {row.id} is still {row.status} (process {row.owner_pid} on "
            f"{row.owner_host}); only interrupted generations can be resumed"
        )
    return (
        f"generation {row.id} {row.status}"
        + (f" ({row.error})" if row.error else "")
        + "; only interrupted generations can be resumed"
    )


def _checkpoint(conn: Connection, row: Any) -> CheckpointState | None:
    """The row's checkpoint stage with its text rebuilt from the stored segments."""
    if row.checkpoint_stage is None:
        return None
    segments = conn.execute(
        select(GenerationCheckpoint.from_char, GenerationCheckpoint.text)
        .where(GenerationCheckpoint.generation_id == row.id)
        .where(GenerationCheckpoint.stage == row.checkpoint_stage)
        .order_by(GenerationCheckpoint.seq)
    ).all()
    return CheckpointState(row.checkpoint_stage, rebuild(segments))


def _lost_attempts(
    conn: Connection, row: Any, checkpoint: CheckpointState | None
) -> tuple[list[dict[str, Any]], int]:
    """Rows for attempts that have chunks but no record, and their wasted tokens."""
    gid = row.id
    recorded = set(
        conn.scalars(select(GenerationAttempt.number).where(GenerationAttempt.generation_id == gid))
    )
    spans = conn.execute(
        select(
            GenerationChunk.attempt,
            func.min(GenerationChunk.stage),
            func.min(GenerationChunk.char_offset),
            func.sum(GenerationChunk.chars),
            func.min(GenerationChunk.t_ms),
            func.max(GenerationChunk.t_ms),
        )
        .where(GenerationChunk.generation_id == gid)
        .group_by(GenerationChunk.attempt)
    ).all()
    text = checkpoint.text if checkpoint is not None else ""
    chars_per_token = len(text) / count_tokens(text) if text else FALLBACK_CHARS_PER_TOKEN
    lost, wasted = [], 0
    for attempt, stage, first_char, chars, first_ms, last_ms in spans:
        if attempt in recorded:
            continue
        kept = 0
        if checkpoint is not None and stage == checkpoint.stage:
            kept = max(0, min(int(chars), len(checkpoint.text) - int(first_char)))
        wasted += round((int(chars) - kept) / chars_per_token)
        lost.append(
            {
                "id": uuid.uuid4(),
                "generation_id": gid,
                "number": attempt,
                "stage": stage,
                "kind": "stream",
                "started_at": row.heartbeat_at,
                "ended_at": row.heartbeat_at,
                "start_ms": int(first_ms),
                "end_ms": int(last_ms),
                "resume_from_char": int(first_char),
                "chars": int(chars),
                "output_tokens": round(int(chars) / chars_per_token),
                "error_type": LOST_ATTEMPT_ERROR,
                "error_message": "the process running this attempt stopped",
            }
        )
    return lost, wasted


def _next(conn: Connection, column: Any, generation_column: Any, generation_id: uuid.UUID) -> int:
    return (
        conn.scalar(select(func.max(column)).where(generation_column == generation_id)) or 0
    ) + 1


def claim(
    conn: Connection, generation_id: uuid.UUID, *, ttl_s: float, job_id: int | None = None
) -> tuple[GenerationSpec, ResumePoint, Lease]:
    """In `conn`'s transaction: claim the generation for this process, say where it goes on."""
    row = conn.execute(select(Generation).where(Generation.id == generation_id)).first()
    if row is None:
        raise GenerationNotFound(f"no generation {generation_id}")
    if (reason := refusal(row)) is not None:
        raise GenerationNotResumable(reason)
    if not move(
        conn,
        generation_id,
        (GenerationStatus.INTERRUPTED,),
        status=GenerationStatus.RUNNING,
        error=None,
        finished_at=None,
        heartbeat_at=utcnow(),
        owner_pid=os.getpid(),
        owner_host=socket.gethostname(),
    ):
        raise GenerationNotResumable(f"generation {generation_id} was resumed elsewhere")
    lease = take(conn, generation_id, ttl_s=ttl_s, now=utcnow(), job_id=job_id)
    checkpoint = _checkpoint(conn, row)
    lost, lost_wasted = _lost_attempts(conn, row, checkpoint)
    if lost:
        conn.execute(insert(GenerationAttempt), lost)
    attempts = conn.execute(
        select(
            GenerationAttempt.number,
            GenerationAttempt.input_tokens,
            GenerationAttempt.output_tokens,
        ).where(GenerationAttempt.generation_id == generation_id)
    ).all()
    discovery_id = conn.scalar(
        select(DiscoveryDocument.id)
        .where(DiscoveryDocument.generation_id == generation_id)
        .order_by(DiscoveryDocument.created_at.desc())
        .limit(1)
    )
    positions = Positions(
        next_chunk_seq=_next(conn, GenerationChunk.seq, GenerationChunk.generation_id, row.id),
        next_event_seq=_next(conn, GenerationEvent.seq, GenerationEvent.generation_id, row.id),
        next_checkpoint_seq=_next(
            conn, GenerationCheckpoint.seq, GenerationCheckpoint.generation_id, row.id
        ),
        stored_attempts=frozenset(number for number, _, _ in attempts),
        checkpoint=checkpoint,
    )
    stage = "discovery" if row.discovery_json is None else "masterplan"
    stage_text = checkpoint.text if checkpoint is not None and checkpoint.stage == stage else None
    return (
        spec_of(row),
        ResumePoint(
            discovery_json=row.discovery_json,
            discovery_id=discovery_id,
            stage_text=stage_text or None,
            previous_attempts=len(attempts),
            previous_input_tokens=sum(int(tokens) for _, tokens, _ in attempts),
            previous_output_tokens=sum(int(tokens) for _, _, tokens in attempts),
            previous_wasted_tokens=lost_wasted,
            positions=positions,
        ),
        lease,
    )
