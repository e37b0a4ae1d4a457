"""Resilient streaming client: finish long generations over unreliable networks.

`ResilientClient(...).generate(request)` streams a Messages request through the official
SDK and, when the connection drops, stalls, or the server errs, continues from the text
already received (strategy `resume`), or reproduces other behaviours for comparison
(`none`, `hybrid`, `restart`): `REGISTRY` names each strategy with a line describing it.
Failures are classified in `planner.llm.errors`. The client imports nothing of the
simulator, the database or any front end; it reports through callbacks.
"""

from planner.llm import errors
from planner.llm.client import ResilientClient
from planner.llm.state import AttemptState
from planner.llm.strategies import (
    DEFAULT_STRATEGY,
    REGISTRY,
    STRATEGIES,
    Limits,
    RegisteredStrategy,
    Strategy,
    UnknownStrategy,
    build_strategy,
)
from planner.llm.types import (
    AttemptRecord,
    Checkpoint,
    Chunk,
    GenerationResult,
    Progress,
    RecoveryNotice,
    Usage,
)

__all__ = [
    "DEFAULT_STRATEGY",
    "REGISTRY",
    "STRATEGIES",
    "AttemptRecord",
    "AttemptState",
    "Checkpoint",
    "Chunk",
    "GenerationResult",
    "Limits",
    "Progress",
    "RecoveryNotice",
    "RegisteredStrategy",
    "ResilientClient",
    "Strategy",
    "UnknownStrategy",
    "Usage",
    "build_strategy",
    "errors",
]
