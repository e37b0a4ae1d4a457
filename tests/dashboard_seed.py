"""Seed users and recorded generations straight through the ORM (analysis and page tests)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from planner.db import (
    Generation,
    GenerationAttempt,
    GenerationChunk,
    GenerationEvent,
    MasterPlanRow,
    MilestoneRow,
    PhaseRow,
    SubtaskRow,
    TaskRow,
    User,
    session_scope,
)

T0 = datetime(2026, 11, 1, 12, 0, 0)


def seed_user(username: str, url: str | None = None) -> uuid.UUID:
    with session_scope(url) as session:
        user = User(username=username, password_hash=None, can_login=False)
        session.add(user)
        session.flush()
        return user.id


def seed_generation(
    user_id: uuid.UUID,
    *,
    url: str | None = None,
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
) -> uuid.UUID:
    """One generation; with `fail_at_char`, attempt 1 fails there and attempt 2 resumes."""
    generation_id = uuid.uuid4()
    with session_scope(url) as session:
        generation = Generation(
            id=generation_id,
            user_id=user_id,
            description=description,
            strategy=strategy,
            fault_spec=fault_spec,
            model=model,
            speed=speed,
            status=status,
            stage="masterplan",
            tier=tier,
            created_at=created_at,
            started_at=created_at,
            finished_at=None if status == "running" else created_at + timedelta(seconds=duration_s),
            duration_s=None if status == "running" else duration_s,
            attempts=1 if fail_at_char is None else 2,
            output_tokens=output_tokens,
            wasted_output_tokens=wasted_output_tokens,
            chars=total_chars,
        )
        session.add(generation)
        session.flush()
        ends = [total_chars] if fail_at_char is None else [fail_at_char, total_chars]
        seq = 0
        event_seq = 0
        t_ms = 0
        start_char = 0
        for number, end_char in enumerate(ends, start=1):
            attempt_start = t_ms
            for offset in range(start_char, end_char, chunk_chars):
                seq += 1
                t_ms += 5
                size = min(chunk_chars, end_char - offset)
                session.add(
                    GenerationChunk(
                        generation_id=generation_id,
                        seq=seq,
                        attempt=number,
                        stage="masterplan",
                        char_offset=offset,
                        chars=size,
                        t_ms=t_ms,
                    )
                )
                event_seq += 1
                session.add(
                    GenerationEvent(
                        generation_id=generation_id,
                        seq=event_seq,
                        name="masterplan_text_delta",
                        payload={"text": "x" * (size - 1) + str(number), "from_char": offset},
                    )
                )
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
                    error_type="RemoteProtocolError" if failed else None,
                    error_message="peer closed connection" if failed else None,
                )
            )
            event_seq += 1
            session.add(
                GenerationEvent(
                    generation_id=generation_id,
                    seq=event_seq,
                    name="masterplan_tokens_progress",
                    payload={
                        "tokens_received": end_char // 4,
                        "estimated_total": total_chars // 4,
                        "percentage": 100.0 * end_char / max(total_chars, 1),
                        "current_phase": "masterplan",
                        "chars": end_char,
                        "attempt": number,
                    },
                )
            )
            if failed:
                event_seq += 1
                session.add(
                    GenerationEvent(
                        generation_id=generation_id,
                        seq=event_seq,
                        name="masterplan_recovery",
                        payload={
                            "attempt": number,
                            "tier": "resume",
                            "reason": "connection_dropped: peer closed connection (resume)",
                            "resume_from_char": end_char,
                        },
                    )
                )
                t_ms += 100
            start_char = end_char
        if with_plan:
            generation.masterplan_id = _seed_plan(session, user_id, generation_id)
    return generation_id


def _seed_plan(session, user_id: uuid.UUID, generation_id: uuid.UUID) -> uuid.UUID:  # noqa: ANN001
    plan = MasterPlanRow(
        user_id=user_id,
        generation_id=generation_id,
        project_name="Bakery Orders",
        description="Orders for a bakery",
        architecture_style="modular monolith",
        tech_stack={"backend": "Python"},
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
            masterplan_id=plan.id, phase_number=phase_number, name=f"Phase {phase_number}: {title}"
        )
        session.add(phase)
        session.flush()
        milestone = MilestoneRow(
            masterplan_id=plan.id,
            phase_id=phase.id,
            milestone_number=phase_number,
            name=f"Milestone {phase_number}",
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
                name=f"Task {task_number}",
                complexity=["low", "high", "critical"][task_number - 1],
                estimated_hours=4.0,
                depends_on_numbers=list(range(1, task_number)),
                depends_on_task_ids=[],
                target_files=[f"src/t{task_number}.py"],
                total_subtasks=1 if task_number < 3 else 2,
            )
            session.add(task)
            session.flush()
            for subtask_number in range(1, task.total_subtasks + 1):
                session.add(
                    SubtaskRow(
                        masterplan_id=plan.id,
                        task_id=task.id,
                        subtask_number=subtask_number,
                        name=f"Subtask {task_number}.{subtask_number}",
                    )
                )
    return plan.id
