"""Is the failure worth another attempt: conditions on the `AttemptState` that compose.

As in tenacity's `retry` module, each condition is a tiny stateless object whose
`__call__(state)` answers yes or no, and conditions combine with `|` (`retry_any`) and
`&` (`retry_all`), so a strategy reads as its rule: resume's is
`retry_if_error(TransientError, MaxTokensReached) | (retry_if_error(PrefillRefused) &
retry_if_attempt_kind("resume"))`. tenacity's own classes are not reused: they are typed on
its `RetryCallState` and its ready-made conditions read fields planner's state does not
have (`outcome`, `attempt_number`).
"""

from __future__ import annotations

import abc

from planner.llm.errors import PlannerLLMError
from planner.llm.state import AttemptState
from planner.llm.types import AttemptKind


class retry_base(abc.ABC):
    """A condition on the state after a failed attempt: True means try again."""

    @abc.abstractmethod
    def __call__(self, state: AttemptState) -> bool: ...

    def __or__(self, other: retry_base) -> retry_any:
        return retry_any(self, other)

    def __and__(self, other: retry_base) -> retry_all:
        return retry_all(self, other)


class retry_any(retry_base):
    """True if any of the conditions is."""

    def __init__(self, *conditions: retry_base) -> None:
        self.conditions = conditions

    def __call__(self, state: AttemptState) -> bool:
        return any(condition(state) for condition in self.conditions)


class retry_all(retry_base):
    """True if all of the conditions are."""

    def __init__(self, *conditions: retry_base) -> None:
        self.conditions = conditions

    def __call__(self, state: AttemptState) -> bool:
        return all(condition(state) for condition in self.conditions)


class retry_never(retry_base):
    def __call__(self, state: AttemptState) -> bool:
        return False


class retry_if_error(retry_base):
    """The last failure is one of these types (`planner.llm.errors`)."""

    def __init__(self, *error_types: type[PlannerLLMError]) -> None:
        self.error_types = error_types

    def __call__(self, state: AttemptState) -> bool:
        return isinstance(state.last_error, self.error_types)


class retry_if_attempt_kind(retry_base):
    """The attempt that failed was of one of these kinds (`stream`, `resume`, ...)."""

    def __init__(self, *kinds: AttemptKind) -> None:
        self.kinds = frozenset(kinds)

    def __call__(self, state: AttemptState) -> bool:
        return state.kind in self.kinds
