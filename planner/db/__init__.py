"""Database layer: engine and sessions, ORM models, migrations, DuckDB lock retry."""

from planner.db.engine import (
    DatabaseLockedError,
    dispose_engines,
    get_engine,
    is_duckdb,
    session_scope,
    with_lock_retry,
)
from planner.db.migrate import upgrade
from planner.db.models import (
    Base,
    DiscoveryDocument,
    Experiment,
    ExperimentRun,
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
    utcnow,
)

__all__ = [
    "Base",
    "DatabaseLockedError",
    "DiscoveryDocument",
    "Experiment",
    "ExperimentRun",
    "Generation",
    "GenerationAttempt",
    "GenerationChunk",
    "GenerationEvent",
    "MasterPlanRow",
    "MilestoneRow",
    "PhaseRow",
    "SubtaskRow",
    "TaskRow",
    "User",
    "dispose_engines",
    "get_engine",
    "is_duckdb",
    "session_scope",
    "upgrade",
    "utcnow",
    "with_lock_retry",
]
