"""Database layer: the `Database` handle (engine and DuckDB policy), ORM models, migrations,
deletes that cascade in code."""

from planner.db.cascade import (
    delete_experiment,
    delete_generation,
    delete_masterplan,
    delete_user_rows,
)
from planner.db.database import Database
from planner.db.migrate import head_revision
from planner.db.models import (
    Base,
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
from planner.db.retry import DatabaseLockedError, is_lock_conflict, retry_lock_conflicts

__all__ = [
    "Base",
    "Database",
    "DatabaseLockedError",
    "DiscoveryDocument",
    "Experiment",
    "ExperimentRun",
    "Generation",
    "GenerationAttempt",
    "GenerationCheckpoint",
    "GenerationChunk",
    "GenerationEvent",
    "GenerationLease",
    "MasterPlanRow",
    "MilestoneRow",
    "PhaseRow",
    "LoginAttempt",
    "SessionFamily",
    "SubtaskRow",
    "TaskRow",
    "User",
    "delete_experiment",
    "delete_generation",
    "delete_masterplan",
    "delete_user_rows",
    "head_revision",
    "is_lock_conflict",
    "retry_lock_conflicts",
    "utcnow",
]
