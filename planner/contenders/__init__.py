"""Contenders: other libraries' documented recovery paths, measured beside planner's own.

planner asks which recovery strategy survives which failure, at what cost, and its users
choose between planner and what they would otherwise use. A contender runs one whole
answer the way another library's documentation recommends (`planner.contenders.base`);
`get_contender(name)` builds one from the registry (`CONTENDERS`, `describe()` for their
one-line descriptions), `PlannerStrategy` wraps planner's own strategies the same way, and
the `oracle` is the floor: reconnect at once, continue from exactly the text received.

Every run is judged by one rule (`judge`: the final text equals the fault-free answer, and
a silently truncated or duplicated answer is a failure), and `compare` runs cells
interleaved and shuffled per round under the same seeds and fault draws; `summarize` folds
its rows into medians with spread, n and 95% intervals (`planner.contenders.stats`).

Most contenders need the optional extra (`pip install 'planner[contenders]'`); planner works
without it, and asking for a missing one says which extra to install. Importing this package
imports none of those libraries.
"""

from planner.contenders.base import Contender, ContenderResult, Endpoint
from planner.contenders.errors import (
    BadComparison,
    BaselineFailed,
    ContenderUnavailable,
    UnknownContender,
    UnsupportedRequest,
)
from planner.contenders.judge import Outcome, judge
from planner.contenders.planner_strategy import PlannerStrategy
from planner.contenders.registry import (
    CONTENDER,
    CONTENDERS,
    INSTALL_HINT,
    ORACLE,
    REGISTRY,
    RUN_CHOICES,
    STRATEGY,
    RunChoice,
    describe,
    get_contender,
    installed,
    kind_of,
    require_installed,
)
from planner.contenders.runner import Row, compare
from planner.contenders.summary import CellSummary, summarize

__all__ = [
    "CONTENDER",
    "CONTENDERS",
    "INSTALL_HINT",
    "ORACLE",
    "REGISTRY",
    "RUN_CHOICES",
    "STRATEGY",
    "BadComparison",
    "BaselineFailed",
    "CellSummary",
    "Contender",
    "ContenderResult",
    "ContenderUnavailable",
    "Endpoint",
    "Outcome",
    "PlannerStrategy",
    "Row",
    "RunChoice",
    "UnknownContender",
    "UnsupportedRequest",
    "compare",
    "describe",
    "get_contender",
    "installed",
    "judge",
    "kind_of",
    "require_installed",
    "summarize",
]
