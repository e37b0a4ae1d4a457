"""ORM models for every table of DESIGN.md.

Portable across DuckDB and PostgreSQL: UUID keys made in Python, JSON columns for lists,
naive UTC timestamps, no server-side sequences. DuckDB knows no ON DELETE CASCADE, so
deletes cascade in code (`planner.db.delete_*`). Chunks and events are keyed by
(generation_id, seq): they are the high-volume tables and their natural key is gap-free.
The Alembic migrations are the source of truth; a test keeps these models in step.

Text a model or an endpoint writes (plan and discovery names, stop reasons, request ids)
goes in TEXT columns: the plan schema cannot know a length the database would refuse,
and a plan is saved only after its tokens were spent (migration 0006 says why).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Double,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Naive UTC: both databases store it the same way."""
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


def _id() -> Mapped[uuid.UUID]:
    return mapped_column(Uuid, primary_key=True, default=uuid.uuid4)


def _created() -> Mapped[datetime]:
    return mapped_column(DateTime, default=utcnow, nullable=False)


class User(Base):
    __tablename__ = "users"
    id: Mapped[uuid.UUID] = _id()
    username: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    can_login: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    created_at: Mapped[datetime] = _created()


class SessionFamily(Base):
    """One login's chain of refresh tokens (`planner.sessions`): only the newest is valid.

    A token is never stored, only its id (`current_jti`); `previous_jti` and `rotated_at`
    let the token just replaced be shown once more within a short grace (two tabs opening
    at once). `revoked_at` ends the family and every access token issued under it.
    """

    __tablename__ = "session_families"
    id: Mapped[uuid.UUID] = _id()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    current_jti: Mapped[str] = mapped_column(String(64), nullable=False)
    previous_jti: Mapped[str | None] = mapped_column(String(64))
    rotated_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = _created()
    last_used_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_reason: Mapped[str | None] = mapped_column(String(32))


class LoginAttempt(Base):
    """One counted attempt in a throttle window (`planner.throttle`), shared by every
    process that serves logins. `key` is a SHA-256 of the account name or client address,
    never the text itself; rows older than the window are pruned as new ones come."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index(None, "kind", "key", "at_s"),)
    id: Mapped[uuid.UUID] = _id()
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    key: Mapped[str] = mapped_column(String(64), nullable=False)
    # Epoch seconds: a DOUBLE, as SQLAlchemy's Float is DuckDB's 4-byte FLOAT.
    at_s: Mapped[float] = mapped_column(Double, nullable=False)


class Generation(Base):
    __tablename__ = "generations"
    id: Mapped[uuid.UUID] = _id()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    description: Mapped[str] = mapped_column(Text, nullable=False)
    strategy: Mapped[str] = mapped_column(String(32), nullable=False)
    fault_spec: Mapped[str] = mapped_column(Text, default="none", nullable=False)
    settings: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    model: Mapped[str] = mapped_column(String(128), nullable=False)
    seed: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    speed: Mapped[float] = mapped_column(Float, default=1.0, nullable=False)
    # Indexed on PostgreSQL only: migration 0002 says why DuckDB cannot have it.
    status: Mapped[str] = mapped_column(String(16), default="running", nullable=False, index=True)
    stage: Mapped[str] = mapped_column(String(16), default="discovery", nullable=False)
    tier: Mapped[str | None] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    masterplan_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[datetime] = _created()
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    duration_s: Mapped[float | None] = mapped_column(Float)
    attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    input_tokens: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    wasted_output_tokens: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    cache_creation_input_tokens: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    cache_read_input_tokens: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    chars: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    checkpoint_stage: Mapped[str | None] = mapped_column(String(16))
    checkpoint_text: Mapped[str | None] = mapped_column(Text)
    checkpoint_offset: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    discovery_json: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    owner_pid: Mapped[int | None] = mapped_column(Integer)
    owner_host: Mapped[str | None] = mapped_column(String(255))

    __table_args__ = (Index(None, "user_id", "created_at"),)


class GenerationAttempt(Base):
    __tablename__ = "generation_attempts"
    id: Mapped[uuid.UUID] = _id()
    generation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("generations.id"), nullable=False, index=True
    )
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    stage: Mapped[str] = mapped_column(String(16), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    start_ms: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    end_ms: Mapped[int | None] = mapped_column(Integer)
    resume_from_char: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    chars: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    input_tokens: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    # Text: the endpoint writes these (stop_reason, error type, request id), any length.
    stop_reason: Mapped[str | None] = mapped_column(Text)
    error_type: Mapped[str | None] = mapped_column(Text)
    error_message: Mapped[str | None] = mapped_column(Text)
    request_id: Mapped[str | None] = mapped_column(Text)
    # What the client reports per attempt (migration 0009): of output_tokens, those spent
    # thinking; the HTTP status; the anthropic-ratelimit-* headers; the max_tokens sent;
    # what the strategy decided after a failure; how a continuation's seam was joined.
    # nullable: DuckDB cannot add a NOT NULL column to an indexed table (migration 0009)
    thinking_tokens: Mapped[int | None] = mapped_column(Integer)
    http_status: Mapped[int | None] = mapped_column(Integer)
    rate_limit: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    max_tokens: Mapped[int | None] = mapped_column(Integer)
    decision: Mapped[str | None] = mapped_column(Text)
    seam: Mapped[str | None] = mapped_column(Text)  # how a continuation was joined

    __table_args__ = (UniqueConstraint("generation_id", "number"),)


class GenerationChunk(Base):
    """One streamed text delta. No foreign key: checking it row by row was two thirds of
    the insert cost on PostgreSQL (migration 0003 says why the reference holds anyway)."""

    __tablename__ = "generation_chunks"
    generation_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempt: Mapped[int] = mapped_column(Integer, nullable=False)
    stage: Mapped[str] = mapped_column(String(16), nullable=False)
    char_offset: Mapped[int] = mapped_column(Integer, nullable=False)
    chars: Mapped[int] = mapped_column(Integer, nullable=False)
    t_ms: Mapped[int] = mapped_column(Integer, nullable=False)


class GenerationCheckpoint(Base):
    """One piece of a stage's checkpoint text: the text replaces the stage's checkpoint from
    `from_char` on. Appended per recording batch, so a batch writes only the text that is
    new since the last one (migration 0004 says why); no foreign key, like the chunks."""

    __tablename__ = "generation_checkpoints"
    generation_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    stage: Mapped[str] = mapped_column(String(16), nullable=False)
    from_char: Mapped[int] = mapped_column(Integer, nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)


class GenerationLease(Base):
    """Who may write a generation now: each claim takes a new `epoch`, and every write of a
    runner is accepted only under its own (migration 0005). The runner renews `expires_at`
    with each write; the sweep interrupts a generation whose lease expired. A cancel asked
    from any process is `cancel_requested`, read by the runner at its next write. No
    foreign key, like the chunks: the store writes it with the generation's row."""

    __tablename__ = "generation_leases"
    generation_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    epoch: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    owner: Mapped[str | None] = mapped_column(String(255))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    job_id: Mapped[int | None] = mapped_column(BigInteger)


class GenerationEvent(Base):
    __tablename__ = "generation_events"
    generation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("generations.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    created_at: Mapped[datetime] = _created()


class DiscoveryDocument(Base):
    __tablename__ = "discovery_documents"
    id: Mapped[uuid.UUID] = _id()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    generation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("generations.id"), index=True
    )
    description: Mapped[str] = mapped_column(Text, nullable=False)
    domain: Mapped[str] = mapped_column(Text, nullable=False)
    summary: Mapped[str] = mapped_column(Text, default="", nullable=False)
    bounded_contexts: Mapped[list[Any]] = mapped_column(JSON, nullable=False)
    aggregates: Mapped[list[Any]] = mapped_column(JSON, nullable=False)
    services: Mapped[list[Any]] = mapped_column(JSON, nullable=False)
    risks: Mapped[list[Any]] = mapped_column(JSON, nullable=False)
    assumptions: Mapped[list[Any]] = mapped_column(JSON, nullable=False)
    task_count: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = _created()


class MasterPlanRow(Base):
    __tablename__ = "masterplans"
    id: Mapped[uuid.UUID] = _id()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    generation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("generations.id"), index=True
    )
    discovery_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("discovery_documents.id"))
    project_name: Mapped[str] = mapped_column(Text, nullable=False)
    description: Mapped[str] = mapped_column(Text, default="", nullable=False)
    architecture_style: Mapped[str] = mapped_column(Text, default="", nullable=False)
    tech_stack: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    status: Mapped[str] = mapped_column(String(16), default="draft", nullable=False)
    total_phases: Mapped[int] = mapped_column(Integer, nullable=False)
    total_milestones: Mapped[int] = mapped_column(Integer, nullable=False)
    total_tasks: Mapped[int] = mapped_column(Integer, nullable=False)
    total_subtasks: Mapped[int] = mapped_column(Integer, nullable=False)
    completed_tasks: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    progress_percent: Mapped[float] = mapped_column(Float, default=0.0, nullable=False)
    estimated_total_hours: Mapped[float] = mapped_column(Float, default=0.0, nullable=False)
    plan_json: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime, default=utcnow, onupdate=utcnow, nullable=False
    )


class PhaseRow(Base):
    __tablename__ = "masterplan_phases"
    id: Mapped[uuid.UUID] = _id()
    masterplan_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("masterplans.id"), nullable=False, index=True
    )
    phase_number: Mapped[int] = mapped_column(Integer, nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    description: Mapped[str] = mapped_column(Text, default="", nullable=False)
    status: Mapped[str] = mapped_column(String(16), default="pending", nullable=False)
    total_milestones: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    total_tasks: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    completed_tasks: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    created_at: Mapped[datetime] = _created()

    __table_args__ = (UniqueConstraint("masterplan_id", "phase_number"),)


class MilestoneRow(Base):
    __tablename__ = "masterplan_milestones"
    id: Mapped[uuid.UUID] = _id()
    masterplan_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("masterplans.id"), nullable=False, index=True
    )
    phase_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("masterplan_phases.id"), nullable=False, index=True
    )
    milestone_number: Mapped[int] = mapped_column(Integer, nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    description: Mapped[str] = mapped_column(Text, default="", nullable=False)
    status: Mapped[str] = mapped_column(String(16), default="pending", nullable=False)
    total_tasks: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    completed_tasks: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    created_at: Mapped[datetime] = _created()


class TaskRow(Base):
    __tablename__ = "masterplan_tasks"
    id: Mapped[uuid.UUID] = _id()
    masterplan_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("masterplans.id"), nullable=False, index=True
    )
    phase_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("masterplan_phases.id"), nullable=False, index=True
    )
    milestone_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("masterplan_milestones.id"), nullable=False, index=True
    )
    task_number: Mapped[int] = mapped_column(Integer, nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    description: Mapped[str] = mapped_column(Text, default="", nullable=False)
    complexity: Mapped[str] = mapped_column(String(16), default="medium", nullable=False)
    status: Mapped[str] = mapped_column(String(16), default="pending", nullable=False)
    estimated_hours: Mapped[float] = mapped_column(Float, default=0.0, nullable=False)
    depends_on_numbers: Mapped[list[Any]] = mapped_column(JSON, nullable=False)
    depends_on_task_ids: Mapped[list[Any]] = mapped_column(JSON, nullable=False)
    target_files: Mapped[list[Any]] = mapped_column(JSON, nullable=False)
    total_subtasks: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    completed_subtasks: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    created_at: Mapped[datetime] = _created()

    __table_args__ = (UniqueConstraint("masterplan_id", "task_number"),)


class SubtaskRow(Base):
    __tablename__ = "masterplan_subtasks"
    id: Mapped[uuid.UUID] = _id()
    masterplan_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("masterplans.id"), nullable=False, index=True
    )
    task_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("masterplan_tasks.id"), nullable=False, index=True
    )
    subtask_number: Mapped[int] = mapped_column(Integer, nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    description: Mapped[str] = mapped_column(Text, default="", nullable=False)
    status: Mapped[str] = mapped_column(String(16), default="pending", nullable=False)
    created_at: Mapped[datetime] = _created()


class Experiment(Base):
    __tablename__ = "experiments"
    id: Mapped[uuid.UUID] = _id()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(255), default="", nullable=False)
    faults: Mapped[list[Any]] = mapped_column(JSON, nullable=False)
    strategies: Mapped[list[Any]] = mapped_column(JSON, nullable=False)
    repeats: Mapped[int] = mapped_column(Integer, nullable=False)
    concurrency: Mapped[int] = mapped_column(Integer, default=1, nullable=False)
    speed: Mapped[float] = mapped_column(Float, default=1.0, nullable=False)
    seed: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    from_generation_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    status: Mapped[str] = mapped_column(String(16), default="running", nullable=False)
    created_at: Mapped[datetime] = _created()
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)


class ExperimentRun(Base):
    __tablename__ = "experiment_runs"
    id: Mapped[uuid.UUID] = _id()
    experiment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("experiments.id"), nullable=False, index=True
    )
    generation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("generations.id"), index=True
    )
    fault: Mapped[str] = mapped_column(Text, nullable=False)
    strategy: Mapped[str] = mapped_column(String(32), nullable=False)
    repeat_index: Mapped[int] = mapped_column(Integer, nullable=False)
    seed: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(16), default="pending", nullable=False)
    tier: Mapped[str | None] = mapped_column(String(16))
    duration_s: Mapped[float | None] = mapped_column(Float)
    baseline_duration_s: Mapped[float | None] = mapped_column(Float)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    final_tokens: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    wasted_output_tokens: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _created()
    # Migration 0007: contenders beside strategies, every run judged by its final text.
    config: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    versions: Mapped[dict[str, str] | None] = mapped_column(JSON)
    outcome: Mapped[str | None] = mapped_column(String(24))
    answers: Mapped[dict[str, str] | None] = mapped_column(JSON)
    delivered_chars: Mapped[int | None] = mapped_column(Integer)
    # Migration 0011: the HTTP status of the error a contender's library raised, if any.
    http_status: Mapped[int | None] = mapped_column(Integer)
