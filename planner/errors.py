"""PlannerError, the one exception root, and the categories every planner failure is in.

Every exception planner raises on purpose derives from `PlannerError`; a front end catches
that one class and shows `str(exc)`, one line a person can act on (the CLI maps the
category to an exit code in one place). Anything else escaping is a bug and keeps its
traceback. The tree (each module's own exceptions hang under one of these)::

    PlannerError                      exit 1
    ├── ConfigError                   a setting is present but unusable          exit 2
    ├── InputError                    bad input; the message says what to change  exit 2
    ├── NotFoundError                 no such user, generation, experiment ...    exit 3
    ├── ConflictError                 exists already, or not in a state for that  exit 4
    ├── AuthError                     credentials or tokens refused               exit 5
    ├── DatabaseError                 the database cannot do what was asked       exit 6
    │   └── DatabaseUnavailable       down, unreachable, or a wrong URL
    ├── ServiceUnavailable            another service (Redis, a port) cannot be used  exit 6
    └── LLMError                      the model API failed (planner.llm.errors)   exit 7

A module's own exceptions subclass the category they belong to (and may add a Python
built-in such as ValueError where callers rely on it).
"""

from __future__ import annotations

from typing import ClassVar


class PlannerError(Exception):
    """A failure planner explains: `str(exc)` is one line for a person."""

    exit_code: ClassVar[int] = 1


class ConfigError(PlannerError):
    """A setting is present but unusable; the message says which and why."""

    exit_code = 2


class InputError(PlannerError):
    """Input that cannot be used; the message says what is wrong and what would do."""

    exit_code = 2


class NotFoundError(PlannerError):
    """The thing named does not exist (or is not the caller's to see)."""

    exit_code = 3


class ConflictError(PlannerError):
    """The thing exists already, or is not in a state that allows this."""

    exit_code = 4


class AuthError(PlannerError):
    """Credentials or tokens were refused."""

    exit_code = 5


class DatabaseError(PlannerError):
    """The database could not do what was asked; the message says why."""

    exit_code = 6


class DatabaseUnavailable(DatabaseError):
    """The database is down, unreachable, or the URL is wrong."""


class ServiceUnavailable(PlannerError):
    """A service planner needs (Redis, a port to listen on) cannot be used."""

    exit_code = 6


class LLMError(PlannerError):
    """The model API failed; `planner.llm.errors` holds the detailed tree."""

    exit_code = 7


__all__ = [
    "AuthError",
    "ConfigError",
    "ConflictError",
    "DatabaseError",
    "DatabaseUnavailable",
    "InputError",
    "LLMError",
    "NotFoundError",
    "PlannerError",
    "ServiceUnavailable",
]
