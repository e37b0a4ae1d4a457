"""The contenders' own failures, under planner's categories (`planner.errors`).

A contender's *library* failing is no error of planner's: it is a result, judged like any
other. These are the cases where a contender cannot be run at all.
"""

from __future__ import annotations

from planner.errors import ConfigError, InputError, LLMError


class UnknownContender(InputError):
    """A contender name that is not in the registry; the message lists the known ones."""


class ContenderUnavailable(ConfigError):
    """The contender's library is not installed; the message says which extra brings it."""


class UnsupportedRequest(InputError, ValueError):
    """A request with a parameter the contenders do not pass on (they would drop it)."""


class BadComparison(InputError, ValueError):
    """A comparison that cannot run as asked (no seed, no round)."""


class BaselineFailed(LLMError):
    """The fault-free reference run of a seed failed, or its runs disagreed: without it no
    run of that seed can be judged."""


__all__ = [
    "BadComparison",
    "BaselineFailed",
    "ContenderUnavailable",
    "UnknownContender",
    "UnsupportedRequest",
]
