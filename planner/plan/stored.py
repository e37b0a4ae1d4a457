"""Generations as stored: creating the row, reading an outcome, reopening for a resume.

Reopening claims an interrupted generation atomically (only one process can win it),
gives the attempt a process death cut short a row of its own (its chunks are stored, the
attempt record never was), and says where the generation continues: the discovery if it
was finished, and the checkpoint text of the stage it was in.
"""

from __future__ import annotations

import os
import socket
import uuid
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from planner.db import (
    DiscoveryDocument,
    Generation,
    GenerationAttempt,
    GenerationChunk,
    MasterPlanRow,
    User,
    get_engine,
    utcnow,
    with_lock_retry,
)
from planner.plan.cache import PromptCacheLedger
from planner.plan.liveness import LIVE_STATUSES
from planner.plan.request import GenerationOutcome
from planner.plan.schema import Discovery
from planner.plan.spec import GenerationSpec, ResumePoint
from planner.tokens import count_tokens

LOST_ATTEMPT_ERROR = "process_interrupted"
FALLBACK_CHARS_PER_TOKEN = 3.5


class GenerationNotFound(LookupError):
    pass


class GenerationNotResumable(ValueError):
    """The generation exists but cannot be resumed now; the message says why."""


def user_exists(user_id: uuid.UUID, database_url: str | None = None) -> bool:
    def read() -> bool:
        with get_engine(database_url).connect() as conn:
            return conn.scalar(select(func.count()).where(User.id == user_id)) == 1

    return with_lock_retry(read)


def spec_of(row: Any) -> GenerationSpec:
    return GenerationSpec(
        generation_id=row.id,
        user_id=row.user_id,
        description=row.description,
        strategy=row.strategy,
        faults=row.fault_spec,
        model=row.model,
        seed=row.seed,
        speed=row.speed,
        started_at=row.started_at,
    )


def load_row(generation_id: uuid.UUID, database_url: str | None = None) -> Any:
    def read() -> Any:
        with get_engine(database_url).connect() as conn:
            return conn.execute(select(Generation).where(Generation.id == generation_id)).first()

    row = with_lock_retry(read)
    if row is None:
        raise GenerationNotFound(f"no generation {generation_id}")
    return row


def outcome_of(generation_id: uuid.UUID, database_url: str | None = None) -> GenerationOutcome:
    """The result object of a stored generation (finished or not)."""

    def read() -> tuple[Any, Any]:
        with get_engine(database_url).connect() as conn:
            row = conn.execute(select(Generation).where(Generation.id == generation_id)).first()
            plan = None
            if row is not None and row.masterplan_id is not None:
                plan = conn.execute(
                    select(MasterPlanRow).where(MasterPlanRow.id == row.masterplan_id)
                ).first()
            return row, plan

    row, plan = with_lock_retry(read)
    if row is None:
        raise GenerationNotFound(f"no generation {generation_id}")
    return GenerationOutcome(
        generation_id=row.id,
        masterplan_id=row.masterplan_id,
        status=row.status,
        strategy=row.strategy,
        tier=row.tier,
        attempts=row.attempts,
        output_tokens=row.output_tokens,
        wasted_output_tokens=row.wasted_output_tokens,
        duration_s=row.duration_s or 0.0,
        phases=plan.total_phases if plan else 0,
        milestones=plan.total_milestones if plan else 0,
        tasks=plan.total_tasks if plan else 0,
        subtasks=plan.total_subtasks if plan else 0,
        error=row.error,
        prompt_cache=PromptCacheLedger(
            row.model,
            input_tokens=row.input_tokens,
            cache_creation_input_tokens=row.cache_creation_input_tokens,
            cache_read_input_tokens=row.cache_read_input_tokens,
        ).to_json(),
    )


def _refusal(row: Any) -> str | None:
    if row.status == "interrupted":
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


def _lost_attempts(conn: Connection, row: Any) -> tuple[list[dict[str, Any]], int]:
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
    text = row.checkpoint_text or ""
    chars_per_token = len(text) / count_tokens(text) if text else FALLBACK_CHARS_PER_TOKEN
    lost, wasted = [], 0
    for attempt, stage, first_char, chars, first_ms, last_ms in spans:
        if attempt in recorded:
            continue
        kept = 0
        if stage == row.checkpoint_stage:
            kept = max(0, min(int(chars), row.checkpoint_offset - int(first_char)))
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


def reopen(
    generation_id: uuid.UUID, database_url: str | None = None
) -> tuple[GenerationSpec, ResumePoint]:
    """Claim an interrupted generation for this process and say where it continues."""

    def claim() -> tuple[GenerationSpec, ResumePoint]:
        with get_engine(database_url).begin() as conn:
            row = conn.execute(select(Generation).where(Generation.id == generation_id)).first()
            if row is None:
                raise GenerationNotFound(f"no generation {generation_id}")
            if (refusal := _refusal(row)) is not None:
                raise GenerationNotResumable(refusal)
            claimed = conn.execute(
                update(Generation)
                .where(Generation.id == generation_id)
                .where(Generation.status == "interrupted")
                .values(
                    status="running",
                    error=None,
                    finished_at=None,
                    heartbeat_at=utcnow(),
                    owner_pid=os.getpid(),
                    owner_host=socket.gethostname(),
                )
            ).rowcount
            if claimed != 1:
                raise GenerationNotResumable(f"generation {generation_id} was resumed elsewhere")
            lost, lost_wasted = _lost_attempts(conn, row)
            if lost:
                conn.execute(insert(GenerationAttempt), lost)
            totals = conn.execute(
                select(
                    func.count(),
                    func.coalesce(func.sum(GenerationAttempt.input_tokens), 0),
                    func.coalesce(func.sum(GenerationAttempt.output_tokens), 0),
                ).where(GenerationAttempt.generation_id == generation_id)
            ).one()
            discovery_id = conn.scalar(
                select(DiscoveryDocument.id)
                .where(DiscoveryDocument.generation_id == generation_id)
                .order_by(DiscoveryDocument.created_at.desc())
                .limit(1)
            )
        discovery = (
            Discovery.model_validate(row.discovery_json) if row.discovery_json is not None else None
        )
        stage = "discovery" if discovery is None else "masterplan"
        stage_text = row.checkpoint_text if row.checkpoint_stage == stage else None
        return spec_of(row), ResumePoint(
            discovery=discovery,
            discovery_id=discovery_id,
            stage_text=stage_text or None,
            previous_attempts=int(totals[0]),
            previous_input_tokens=int(totals[1]),
            previous_output_tokens=int(totals[2]),
            previous_wasted_tokens=lost_wasted,
        )

    return with_lock_retry(claim)
