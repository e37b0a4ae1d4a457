"""From a recorded generation to a fault spec that makes the same failures happen again.

A generation's attempts say where each one died: its error type (the client's stable
`kind`), how many characters it had received, out of how many the answer it was reading
would have had, and after how long. `failure_points()` reads that from the stored rows;
`fault_spec_from_generation()` turns every failed attempt into one simulator fault (the
`planner.sim` JSON format) aimed at that request with `on_requests`, so the failure can
be replayed against any strategy, including a generation made against the real API.

Request numbers: the generator sends each stage's requests under the simulator run key
`RunKey(generation id, stage)` (a repair round continues its stage's count), one request per
attempt, so the simulator counts requests per stage. A failed attempt becomes a fault
with `on_requests` = its number within that stage and `on_scope` = the stage, so the
replay hits that one request and no other stage's request with the same number.

Positions: a stream fault fires at `at_fraction` of the answer the attempt was reading:
the stage's final length (the largest char offset its chunks reached) minus where the
attempt resumed from. The fraction is set half a character below the recorded count, so
the simulator cuts after the same text delta even with float rounding; replayed on the
source's seed, its deltas are the same too, so the cut lands on the same character. With
`position="time"`, connection drops use `after_s` (simulated seconds) instead.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from planner.db import Database, Generation, GenerationAttempt, GenerationChunk
from planner.errors import InputError
from planner.plan.generator import REPAIR_STAGE
from planner.protocol import HTTP_ERROR_STATUSES

DEFAULT_STALL_MS = 120_000


class FailureSpecError(InputError, LookupError):
    """The generation cannot be turned into a fault spec; the message says why."""


@dataclass(frozen=True)
class FailurePoint:
    """Where and how one attempt of a recorded generation died."""

    attempt: int
    request_number: int  # within its run scope (stage), 1-based: what `on_requests` counts
    scope: str
    stage: str
    kind: str
    error_type: str
    error_message: str
    resume_from_char: int
    chars: int  # received in this attempt before it died
    answer_chars: int  # how long the answer it was reading would have been
    fraction: float
    died_after_ms: int  # from the attempt's start
    stall_ms: int | None  # silence before a stall was detected, in simulated ms
    http_status: int | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _generation_key(generation_id: uuid.UUID | str) -> uuid.UUID:
    try:
        return uuid.UUID(str(generation_id))
    except ValueError:
        raise FailureSpecError(f"{generation_id!r} is not a generation id (a UUID)") from None


def failure_points(db: Database, generation_id: uuid.UUID | str) -> list[FailurePoint]:
    """Every failed attempt of a stored generation, in attempt order."""
    key = _generation_key(generation_id)
    db.ensure_schema()

    def read(session: Session) -> list[FailurePoint]:
        generation = session.get(Generation, key)
        if generation is None:
            raise FailureSpecError(f"no generation {key} in the database")
        attempts = session.scalars(
            select(GenerationAttempt)
            .where(GenerationAttempt.generation_id == key)
            .order_by(GenerationAttempt.number)
        ).all()
        stage_chars = dict(
            session.execute(
                select(
                    GenerationChunk.stage,
                    func.max(GenerationChunk.char_offset + GenerationChunk.chars),
                )
                .where(GenerationChunk.generation_id == key)
                .group_by(GenerationChunk.stage)
            ).all()
        )
        last_chunk_ms = dict(
            session.execute(
                select(GenerationChunk.attempt, func.max(GenerationChunk.t_ms))
                .where(GenerationChunk.generation_id == key)
                .group_by(GenerationChunk.attempt)
            ).all()
        )
        requests: dict[str, int] = {}
        points = []
        for attempt in attempts:
            scope = _scope_of(attempt.stage)
            requests[scope] = requests.get(scope, 0) + 1
            if attempt.error_type:
                points.append(
                    _point(attempt, requests[scope], stage_chars, last_chunk_ms, generation.speed)
                )
        return points

    return db.in_session(read)


# A repair round is sent under its stage's run-key scope (see the generator).
_SCOPE_OF_REPAIR = {repair: stage for stage, repair in REPAIR_STAGE.items()}


def _scope_of(stage: str) -> str:
    return _SCOPE_OF_REPAIR.get(stage, stage)


def _point(
    attempt: GenerationAttempt,
    request_number: int,
    stage_chars: dict[str, int],
    last_chunk_ms: dict[int, int],
    speed: float,
) -> FailurePoint:
    answer_chars = max(
        1,
        max(stage_chars.get(attempt.stage, 0), attempt.resume_from_char + attempt.chars)
        - attempt.resume_from_char,
    )
    end_ms = attempt.end_ms if attempt.end_ms is not None else attempt.start_ms
    last_ms = last_chunk_ms.get(attempt.number, attempt.start_ms)
    stall_ms = None
    if attempt.error_type == "stalled":
        stall_ms = max(DEFAULT_STALL_MS, round(2 * max(0, end_ms - last_ms) * speed))
    # the status the client recorded; a stream that started (200) failed after the headers
    status = attempt.http_status if (attempt.http_status or 0) >= 400 else None
    return FailurePoint(
        attempt=attempt.number,
        request_number=request_number,
        scope=_scope_of(attempt.stage),
        stage=attempt.stage,
        kind=attempt.kind,
        error_type=attempt.error_type or "",
        error_message=attempt.error_message or "",
        resume_from_char=attempt.resume_from_char,
        chars=attempt.chars,
        answer_chars=answer_chars,
        fraction=min(1.0, attempt.chars / answer_chars),
        died_after_ms=max(0, end_ms - attempt.start_ms),
        stall_ms=stall_ms,
        http_status=status,
    )


def _cut_fraction(point: FailurePoint) -> float:
    """Half a character below the recorded count: the simulator cuts after the same delta."""
    return round(max(0.0, (point.chars - 0.5) / point.answer_chars), 9)


_HTTP_STATUS_OF = {"rate_limited": 429, "overloaded": 529, "server_error": 500}


def fault_for(
    point: FailurePoint, *, position: Literal["fraction", "time"] = "fraction", speed: float = 1.0
) -> dict[str, Any] | None:
    """The simulator fault that reproduces one failure point (None: nothing to inject)."""
    target = {"on_requests": [point.request_number], "on_scope": point.scope}
    kind = point.error_type
    if kind in _HTTP_STATUS_OF or kind == "http_error":
        status = point.http_status or _HTTP_STATUS_OF.get(kind, 500)
        if status not in HTTP_ERROR_STATUSES:
            status = 500 if status != 429 else 429
        return {"type": "http_error", "status": status, **target}
    if kind == "sse_error":
        error_type = "api_error" if "api_error" in point.error_message else "overloaded_error"
        return {
            "type": "sse_error",
            "error_type": error_type,
            "at_fraction": _cut_fraction(point),
            **target,
        }
    if kind == "stalled":
        return {
            "type": "stall",
            "at_fraction": _cut_fraction(point),
            "stall_ms": point.stall_ms or DEFAULT_STALL_MS,
            **target,
        }
    if kind == "truncated":
        return {"type": "eof", "at_fraction": _cut_fraction(point), **target}
    if kind in {"connection_dropped", "connect_failed", "corrupted", "interrupted", "transient"}:
        if position == "time":
            return {
                "type": "reset",
                "after_s": round(point.died_after_ms / 1000 * speed, 3),
                **target,
            }
        return {"type": "reset", "at_fraction": _cut_fraction(point), **target}
    # Refusals, bad requests, max_tokens and the like are answers, not network faults.
    return None


def fault_spec_from_generation(
    db: Database,
    generation_id: uuid.UUID | str,
    *,
    position: Literal["fraction", "time"] = "fraction",
) -> list[dict[str, Any]]:
    """One simulator fault per failed attempt of the stored generation, `on_requests` = N.

    Raises FailureSpecError if the generation does not exist or had no network failure.
    """
    key = _generation_key(generation_id)
    points = failure_points(db, key)
    speed = recorded_request(db, key).speed
    faults = [f for f in (fault_for(p, position=position, speed=speed) for p in points) if f]
    if not faults:
        seen = ", ".join(sorted({p.error_type for p in points})) or "none"
        raise FailureSpecError(
            f"generation {key} recorded no network failure to replay (failed attempts' "
            f"error types: {seen})"
        )
    return faults


@dataclass(frozen=True)
class RecordedRequest:
    """What a stored generation was asked: enough to replay it on the same plan text."""

    description: str
    seed: int
    strategy: str
    fault_spec: str
    speed: float


def recorded_request(db: Database, generation_id: uuid.UUID | str) -> RecordedRequest:
    key = _generation_key(generation_id)
    db.ensure_schema()

    def read(session: Session) -> RecordedRequest:
        generation = session.get(Generation, key)
        if generation is None:
            raise FailureSpecError(f"no generation {key} in the database")
        return RecordedRequest(
            generation.description,
            generation.seed,
            generation.strategy,
            generation.fault_spec,
            generation.speed,
        )

    return db.in_session(read)


def fault_spec_text(faults: list[dict[str, Any]]) -> str:
    """The spec as the compact JSON text `--faults` and `x-planner-faults` accept."""
    return json.dumps(faults, separators=(",", ":"))
