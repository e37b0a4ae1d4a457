"""Resilient streaming client: finish long generations over unreliable networks.

`ResilientClient(...).generate(request)` streams a Messages request through the official
SDK and, when the connection drops, stalls, or the server errs, continues from the text
already received (strategy `resume`), or reproduces other behaviours for comparison
(`none`, `hybrid`, `restart`): `REGISTRY` names each strategy with a line describing it.
Whether a prefill may be sent is known before sending (`ModelCapabilities`, from the model
catalogue); a continuation turn is joined on a held-back anchor (`planner.llm.seams`).
Failures are classified in `planner.llm.errors`. The client imports nothing of the
simulator, the database or any front end; it reports through callbacks.
"""

from planner.llm import errors
from planner.llm.capabilities import PROCESS_CAPABILITIES, ModelCapabilities
from planner.llm.client import DEFAULT_BUDGET_FACTOR, ResilientClient
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
    "DEFAULT_BUDGET_FACTOR",
    "DEFAULT_STRATEGY",
    "PROCESS_CAPABILITIES",
    "REGISTRY",
    "STRATEGIES",
    "AttemptRecord",
    "AttemptState",
    "Checkpoint",
    "Chunk",
    "GenerationResult",
    "Limits",
    "ModelCapabilities",
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
