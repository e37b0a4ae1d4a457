"""Rows for tests, written straight through the ORM, every value known in advance.

One module for every test that needs stored rows rather than a real generation:
- `generation(db, user_id, ...)`: a generation of `total_chars` in chunks, optionally
  failed at a character and resumed, with text deltas, progress and recovery events and
  optionally a plan (analysis, dashboard pages);
- `recorded_generation(db, ...)`: a generation of `TEXT` with hand-written attempts, timed
  events and chunks, including failures no simulator run produces on demand (export,
  replay, fault-spec derivation);
- `add_tree(session, user_id)`: one row in every table, linked the way planner links them
  (migration and cascade tests), with `row_counts`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from planner.db import (
    Base,
    Database,
    DiscoveryDocument,
    Experiment,
    ExperimentRun,
    Generation,
    GenerationAttempt,
    GenerationCheckpoint,
    GenerationChunk,
    GenerationEvent,
    GenerationLease,
    LoginAttempt,
    MasterPlanRow,
    MilestoneRow,
    PhaseRow,
    SessionFamily,
    SubtaskRow,
    TaskRow,
    User,
    utcnow,
)

T0 = datetime(2026, 11, 1, 12, 0, 0)
TEXT = "".join(f"word{index:03d} " for index in range(60))  # 480 chars
CHUNK_CHARS = 40


def add_user(session: Session, username: str | None = None) -> uuid.UUID:
    user = User(username=username or f"u{uuid.uuid4().hex[:10]}", can_login=False)
    session.add(user)
    session.flush()
    return user.id


def user(db: Database, username: str | None = None) -> uuid.UUID:
    """A user who cannot log in (a name is made up when none is given)."""
    return db.in_session(lambda session: add_user(session, username))


def _chunks(
    generation_id: uuid.UUID,
    *,
    attempt: int,
    stage: str,
    start: int,
    end: int,
    size: int,
    first_seq: int,
    t_ms: int,
    step_ms: int,
) -> list[GenerationChunk]:
    """Chunks of `size` chars from `start` to `end`, one every `step_ms` after `t_ms`."""
    return [
        GenerationChunk(
            generation_id=generation_id,
            seq=first_seq + index,
            attempt=attempt,
            stage=stage,
            char_offset=offset,
            chars=min(size, end - offset),
            t_ms=t_ms + step_ms * (index + 1),
        )
        for index, offset in enumerate(range(start, end, size))
    ]


def _event(
    generation_id: uuid.UUID,
    seq: int,
    name: str,
    payload: dict[str, Any],
    created_at: datetime | None = None,
) -> GenerationEvent:
    return GenerationEvent(
        generation_id=generation_id,
        seq=seq,
        name=name,
        payload=payload,
        created_at=created_at or utcnow(),
    )


def _with(hostile: str | None) -> Callable[[str], str]:
    return (lambda text: text) if hostile is None else (lambda text: f"{text} {hostile}")


def generation(
    db: Database,
    user_id: uuid.UUID,
    *,
    strategy: str = "resume",
    fault_spec: str = "none",
    status: str = "completed",
    tier: str | None = "stream",
    created_at: datetime = T0,
    duration_s: float = 10.0,
    output_tokens: int = 1000,
    wasted_output_tokens: int = 0,
    speed: float = 1.0,
    model: str = "claude-sonnet-5-5",
    description: str = "A bakery ordering system",
    fail_at_char: int | None = None,
    total_chars: int = 1000,
    chunk_chars: int = 10,
    with_plan: bool = False,
    hostile: str | None = None,
) -> uuid.UUID:
    """One generation; with `fail_at_char`, attempt 1 fails there and attempt 2 resumes.

    Every chunk has a text delta (`x`s ending in the attempt's number), every attempt a
    progress event, a failed one a recovery. With `hostile`, that text ends every text
    field of the generation, its attempts, recovery events and plan (escaping tests).
    """
    said = _with(hostile)
    generation_id = uuid.uuid4()
    running = status == "running"

    def write(session: Session) -> None:
        row = Generation(
            id=generation_id,
            user_id=user_id,
            description=said(description),
            strategy=strategy,
            fault_spec=said(fault_spec),
            model=said(model),
            error=hostile,
            speed=speed,
            status=status,
            stage="masterplan",
            tier=tier,
            created_at=created_at,
            started_at=created_at,
            finished_at=None if running else created_at + timedelta(seconds=duration_s),
            duration_s=None if running else duration_s,
            attempts=1 if fail_at_char is None else 2,
            output_tokens=output_tokens,
            wasted_output_tokens=wasted_output_tokens,
            chars=total_chars,
        )
        session.add(row)
        session.flush()
        ends = [total_chars] if fail_at_char is None else [fail_at_char, total_chars]
        seq, event_seq, t_ms, start_char = 1, 0, 0, 0
        for number, end_char in enumerate(ends, start=1):
            attempt_start = t_ms
            chunks = _chunks(
                generation_id,
                attempt=number,
                stage="masterplan",
                start=start_char,
                end=end_char,
                size=chunk_chars,
                first_seq=seq,
                t_ms=t_ms,
                step_ms=5,
            )
            for chunk in chunks:
                session.add(chunk)
                event_seq += 1
                text = "x" * (chunk.chars - 1) + str(number)
                session.add(
                    _event(
                        generation_id,
                        event_seq,
                        "masterplan_text_delta",
                        {"text": text, "from_char": chunk.char_offset},
                    )
                )
            seq += len(chunks)
            t_ms += 5 * len(chunks)
            failed = number < len(ends)
            session.add(
                GenerationAttempt(
                    generation_id=generation_id,
                    number=number,
                    stage="masterplan",
                    kind="stream" if number == 1 else "resume",
                    start_ms=attempt_start,
                    end_ms=t_ms,
                    resume_from_char=start_char,
                    chars=end_char - start_char,
                    output_tokens=(end_char - start_char) // 4,
                    stop_reason=None if failed else "end_turn",
                    error_type=said("RemoteProtocolError") if failed else None,
                    error_message=said("peer closed connection") if failed else None,
                )
            )
            event_seq += 1
            progress = {
                "tokens_received": end_char // 4,
                "estimated_total": total_chars // 4,
                "percentage": 100.0 * end_char / max(total_chars, 1),
                "current_phase": "masterplan",
                "chars": end_char,
                "attempt": number,
            }
            session.add(_event(generation_id, event_seq, "masterplan_tokens_progress", progress))
            if failed:
                event_seq += 1
                recovery = {
                    "attempt": number,
                    "tier": "resume",
                    "reason": said("connection_dropped: peer closed connection (resume)"),
                    "resume_from_char": end_char,
                }
                session.add(_event(generation_id, event_seq, "masterplan_recovery", recovery))
                t_ms += 100
            start_char = end_char
        if with_plan:
            row.masterplan_id = add_plan(session, user_id, generation_id, hostile=hostile)

    db.in_session(write)
    return generation_id


DEFAULT_ATTEMPTS: list[dict[str, Any]] = [
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


def recorded_generation(
    db: Database,
    *,
    chunks_ms: int = 20,
    attempts: list[dict[str, Any]] | None = None,
    user_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """A generation of TEXT in chunks of 40 chars, one every `chunks_ms`, with `attempts`.

    Default attempts: attempt 1 is dropped after 200 chars (a connection reset),
    attempt 2 resumes from char 200 and completes. Events: start, a text delta per
    chunk, one recovery after char 200, completion, each at its time.
    """
    attempts = attempts or DEFAULT_ATTEMPTS
    started = utcnow() - timedelta(minutes=5)
    generation_id = uuid.uuid4()

    def write(session: Session) -> None:
        owner = user_id or add_user(session)
        session.add(
            Generation(
                id=generation_id,
                user_id=owner,
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
        seq, t_ms = 1, 0
        for given in attempts:
            attempt = {"stage": "masterplan", **given}
            first_ms = t_ms
            start = attempt.get("resume_from_char", 0)
            chunks = _chunks(
                generation_id,
                attempt=attempt["number"],
                stage=attempt["stage"],
                start=start,
                end=start + attempt["chars"],
                size=CHUNK_CHARS,
                first_seq=seq,
                t_ms=t_ms,
                step_ms=chunks_ms,
            )
            session.add_all(chunks)
            seq += len(chunks)
            t_ms += chunks_ms * len(chunks)
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
        session.add_all(_recorded_events(generation_id, started, chunks_ms))

    db.in_session(write)
    return generation_id


def _recorded_events(
    generation_id: uuid.UUID, started: datetime, chunks_ms: int
) -> list[GenerationEvent]:
    """Start, a text delta per chunk, one recovery after char 200, completion."""
    events: list[tuple[int, str, dict[str, Any]]] = [
        (0, "masterplan_generation_start", {"description": "a test shop", "strategy": "resume"})
    ]
    t_ms = 0
    for offset in range(0, len(TEXT), CHUNK_CHARS):
        t_ms += chunks_ms
        if offset == 200:
            t_ms += 50
            recovery = {
                "attempt": 2,
                "tier": "resume",
                "reason": "connection_dropped",
                "resume_from_char": 200,
            }
            events.append((t_ms, "masterplan_recovery", recovery))
        delta = {"text": TEXT[offset : offset + CHUNK_CHARS], "from_char": offset}
        events.append((t_ms, "masterplan_text_delta", delta))
    events.append((t_ms + 10, "masterplan_generation_complete", {"total_tasks": 8}))
    return [
        _event(generation_id, seq, name, payload, started + timedelta(milliseconds=ms))
        for seq, (ms, name, payload) in enumerate(events, start=1)
    ]


def add_plan(
    session: Session,
    user_id: uuid.UUID,
    generation_id: uuid.UUID | None,
    discovery_id: uuid.UUID | None = None,
    hostile: str | None = None,
) -> uuid.UUID:
    """ "Bakery Orders": 2 phases, a milestone each, 3 tasks (low, high, critical; each
    depends on those before it), 4 subtasks. With `hostile`, every name and description
    ends in that text."""
    said = _with(hostile)
    plan = MasterPlanRow(
        user_id=user_id,
        generation_id=generation_id,
        discovery_id=discovery_id,
        project_name=said("Bakery Orders"),
        description=said("Orders for a bakery"),
        architecture_style=said("modular monolith"),
        tech_stack={said("backend"): said("Python")},
        total_phases=2,
        total_milestones=2,
        total_tasks=3,
        total_subtasks=4,
        plan_json={"project_name": "Bakery Orders", "phases": []},
    )
    session.add(plan)
    session.flush()
    task_number = 0
    for phase_number in (1, 2):
        title = "Foundation" if phase_number == 1 else "Ordering"
        phase = PhaseRow(
            masterplan_id=plan.id,
            phase_number=phase_number,
            name=said(f"Phase {phase_number}: {title}"),
            description=said("why this phase"),
        )
        session.add(phase)
        session.flush()
        milestone = MilestoneRow(
            masterplan_id=plan.id,
            phase_id=phase.id,
            milestone_number=phase_number,
            name=said(f"Milestone {phase_number}"),
            description=said("what this milestone delivers"),
        )
        session.add(milestone)
        session.flush()
        for _ in range(1 if phase_number == 1 else 2):
            task_number += 1
            task = TaskRow(
                masterplan_id=plan.id,
                phase_id=phase.id,
                milestone_id=milestone.id,
                task_number=task_number,
                name=said(f"Task {task_number}"),
                description=said("what to do"),
                complexity=["low", "high", "critical"][task_number - 1],
                estimated_hours=4.0,
                depends_on_numbers=list(range(1, task_number)),
                depends_on_task_ids=[],
                target_files=[f"src/t{task_number}.py"],
                total_subtasks=1 if task_number < 3 else 2,
            )
            session.add(task)
            session.flush()
            session.add_all(
                SubtaskRow(
                    masterplan_id=plan.id,
                    task_id=task.id,
                    subtask_number=subtask_number,
                    name=said(f"Subtask {task_number}.{subtask_number}"),
                )
                for subtask_number in range(1, task.total_subtasks + 1)
            )
    return plan.id


@dataclass
class Tree:
    user_id: uuid.UUID
    generation_id: uuid.UUID
    discovery_id: uuid.UUID
    masterplan_id: uuid.UUID
    experiment_id: uuid.UUID


def add_tree(
    session: Session,
    user_id: uuid.UUID,
    *,
    tag: str = "a",
    checkpoints: bool = True,
    lease: bool = True,
    sessions: bool = True,
    throttle: bool = True,
) -> Tree:
    """A generation with attempts, chunks, events, checkpoint segments, a lease, a
    discovery, a full plan, an experiment run, a login session and a counted login attempt
    (checkpoints, the lease, the session and the attempt unless the schema predates them)."""
    row = Generation(
        user_id=user_id,
        description=f"plan {tag}",
        strategy="resume",
        fault_spec='[{"type": "reset", "toxicity": 1.0}]',
        model="claude-sonnet-5-5",
        status="completed",
        tier="resume",
        discovery_json={"domain": "shop", "tags": ["x", "y"]},
    )
    session.add(row)
    session.flush()
    # Core insert with only these columns: the tree is also written at revisions that
    # predate the attempt columns added since (0009), which an ORM insert would name.
    session.execute(
        insert(GenerationAttempt),
        [
            {"id": uuid.uuid4(), "generation_id": row.id, "number": n, "stage": "masterplan"}
            | {"kind": k, "started_at": utcnow()}
            for n, k in ((1, "stream"), (2, "resume"))
        ],
    )
    session.add_all(
        _chunks(
            row.id,
            attempt=1,
            stage="masterplan",
            start=10,
            end=40,
            size=10,
            first_seq=1,
            t_ms=0,
            step_ms=25,
        )
    )
    session.add_all(
        _event(
            row.id, seq, "masterplan_tokens_progress", {"tokens_received": seq, "percentage": 12.5}
        )
        for seq in (1, 2)
    )
    if checkpoints:
        session.add_all(
            GenerationCheckpoint(
                generation_id=row.id, seq=seq, stage="masterplan", from_char=start, text=text
            )
            for seq, start, text in ((1, 0, '{"project'), (2, 9, '_name": "Shop"'))
        )
    if lease:
        session.add(GenerationLease(generation_id=row.id, epoch=2, owner="test"))
    discovery = DiscoveryDocument(
        user_id=user_id,
        generation_id=row.id,
        description=f"plan {tag}",
        domain="shop",
        bounded_contexts=[{"name": "orders"}],
        aggregates=["Order"],
        services=["billing"],
        risks=[],
        assumptions=["one region"],
        task_count=2,
    )
    session.add(discovery)
    session.flush()
    row.masterplan_id = add_plan(session, user_id, row.id, discovery.id)
    experiment = Experiment(
        user_id=user_id, faults=["drop-at-90"], strategies=["resume"], repeats=1
    )
    session.add(experiment)
    session.flush()
    # An insert of these columns only, so it also fits schemas older than migration 0007.
    session.execute(
        insert(ExperimentRun).values(
            experiment_id=experiment.id,
            generation_id=row.id,
            fault="drop-at-90",
            strategy="resume",
            repeat_index=0,
            seed=0,
        )
    )
    if sessions:
        session.add(
            SessionFamily(
                user_id=user_id,
                kind="browser",
                current_jti=f"jti-{tag}",
                expires_at=datetime(2099, 1, 1),
            )
        )
    if throttle:
        session.add(LoginAttempt(kind="account", key="0" * 64, at_s=1.0))
    session.flush()
    return Tree(user_id, row.id, discovery.id, row.masterplan_id, experiment.id)


def row_counts(session: Session) -> dict[str, int]:
    """Rows per table, for every table the models declare."""
    return {
        table.name: session.scalar(select(func.count()).select_from(table))
        for table in Base.metadata.sorted_tables
    }
