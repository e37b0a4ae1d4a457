"""The one list of contenders: name, one line in words, where it lives, what it needs.

Listing contenders (for `planner experiment --help`, the dashboard) imports no library:
LiteLLM alone takes seconds to import, and most contenders need the optional extra
(`pip install 'planner[contenders]'`). `get_contender` imports the contender's module
when it is asked for; a library that is missing becomes one line saying which extra to
install (`ContenderUnavailable`), never a traceback. This is the one place that import is
deferred, and for that reason only: the modules import nothing of each other.

An experiment's `--strategies` takes planner's own strategies and contenders from one list
(`RUN_CHOICES`, `kind_of`): planner's strategies first (`planner.llm.REGISTRY`), then the
contenders, every name with its one line; the two sets of names never overlap.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from planner.contenders.base import Contender
from planner.contenders.errors import ContenderUnavailable, UnknownContender
from planner.llm import REGISTRY as STRATEGY_REGISTRY

EXTRA = "contenders"
INSTALL_HINT = f"pip install 'planner[{EXTRA}]'"


@dataclass(frozen=True)
class RegisteredContender:
    name: str
    description: str
    """One line in words, for CLI help and the dashboard."""
    module: str
    factory: str
    needs: tuple[str, ...]
    """(import name, distribution) of each optional library the contender runs on."""

    @property
    def distributions(self) -> tuple[str, ...]:
        return tuple(dist for _, dist in self.needs)


_ENTRIES = (
    RegisteredContender(
        "sdk",
        "the anthropic SDK's messages.stream with its default max_retries=2",
        "planner.contenders.sdk_stream",
        "SdkStream",
        (),
    ),
    RegisteredContender(
        "sdk-tenacity",
        "the SDK's messages.stream, the whole stream retried by tenacity with random "
        "exponential backoff",
        "planner.contenders.sdk_tenacity",
        "SdkTenacity",
        (("tenacity", "tenacity"),),
    ),
    RegisteredContender(
        "langchain",
        "LangChain's ChatAnthropic(...).with_retry().stream()",
        "planner.contenders.langchain_retry",
        "LangChainRetry",
        (("langchain_anthropic", "langchain-anthropic"), ("langchain_core", "langchain-core")),
    ),
    RegisteredContender(
        "litellm",
        "LiteLLM completion(..., stream=True, num_retries=2)",
        "planner.contenders.litellm_paths",
        "LiteLLMCompletion",
        (("litellm", "litellm"),),
    ),
    RegisteredContender(
        "litellm-router",
        "LiteLLM Router with a fallback deployment and mid-stream continuation turned on",
        "planner.contenders.litellm_paths",
        "LiteLLMRouter",
        (("litellm", "litellm"),),
    ),
    RegisteredContender(
        "oracle",
        "reference floor: reconnects at once and continues from exactly the text received",
        "planner.contenders.oracle",
        "Oracle",
        (),
    ),
)

REGISTRY: Mapping[str, RegisteredContender] = MappingProxyType({e.name: e for e in _ENTRIES})
CONTENDERS: tuple[str, ...] = tuple(REGISTRY)


def describe() -> dict[str, str]:
    """Every contender's name and one-line description, in order."""
    return {entry.name: entry.description for entry in _ENTRIES}


def get_contender(name: str) -> Contender:
    """The contender of this name, configured as its library's documentation recommends."""
    entry = REGISTRY.get(name)
    if entry is None:
        raise UnknownContender(f"unknown contender {name!r}; choose one of {', '.join(CONTENDERS)}")
    try:
        module = importlib.import_module(entry.module)
    except ModuleNotFoundError as exc:
        missing = next((dist for module, dist in entry.needs if exc.name == module), None)
        if missing is None:
            raise
        raise ContenderUnavailable(
            f"contender {name!r} needs {missing}, which is not installed: {INSTALL_HINT}"
        ) from exc
    return getattr(module, entry.factory)()


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # ValueError: blocked in sys.modules, or no spec
        return False


def installed(name: str) -> bool:
    """Whether the libraries contender `name` needs can be imported (without importing them)."""
    return all(_importable(module) for module, _ in REGISTRY[name].needs)


STRATEGY = "strategy"
CONTENDER = "contender"
ORACLE = "oracle"  # the reference contender: the floor every summary measures against


@dataclass(frozen=True)
class RunChoice:
    """One name `--strategies` accepts: planner's strategy, or a contender."""

    name: str
    kind: str
    description: str


RUN_CHOICES: Mapping[str, RunChoice] = MappingProxyType(
    {
        **{
            entry.name: RunChoice(entry.name, STRATEGY, entry.description)
            for entry in STRATEGY_REGISTRY.values()
        },
        **{entry.name: RunChoice(entry.name, CONTENDER, entry.description) for entry in _ENTRIES},
    }
)


def kind_of(name: str) -> str:
    """`strategy` or `contender`; an unknown name is refused with every known one listed."""
    choice = RUN_CHOICES.get(name)
    if choice is None:
        raise UnknownContender(
            f"unknown strategy or contender {name!r}; choose from {', '.join(RUN_CHOICES)}"
        )
    return choice.kind


def require_installed(name: str) -> None:
    """Refuse a contender whose library is missing, with the extra that brings it."""
    entry = REGISTRY.get(name)
    if entry is None or installed(name):
        return
    missing = [dist for module, dist in entry.needs if not _importable(module)]
    raise ContenderUnavailable(
        f"contender {name!r} needs {', '.join(missing)}, which is not installed: {INSTALL_HINT}"
    )


__all__ = [
    "CONTENDER",
    "CONTENDERS",
    "EXTRA",
    "INSTALL_HINT",
    "REGISTRY",
    "RUN_CHOICES",
    "STRATEGY",
    "RegisteredContender",
    "RunChoice",
    "describe",
    "get_contender",
    "installed",
    "kind_of",
    "require_installed",
]
