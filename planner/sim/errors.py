"""The simulator's exceptions, each under its category of `planner.errors`.

A front end catches `PlannerError` and shows one line; the Python built-in second bases
stay for callers that catch those (a bad `x-planner-*` header is a ValueError the
request handler turns into a 400, a busy port is an OSError)::

    InputError
    ├── FaultSpecError (ValueError)        a fault spec that cannot be used
    └── SpeedError (ValueError)            a speed below 0 or not a number
    ConflictError
    └── SimulatorNotRunning (RuntimeError) asked for its URL before start()
    ServiceUnavailable
    └── SimulatorStartError (OSError)      cannot listen there, or did not start in time
"""

from __future__ import annotations

from planner.errors import ConflictError, InputError, ServiceUnavailable


class FaultSpecError(InputError, ValueError):
    """A fault spec that cannot be used; the message names the problem."""


class SpeedError(InputError, ValueError):
    """A speed factor below 0 or not a number (0 or inf mean unlimited)."""


class SimulatorNotRunning(ConflictError, RuntimeError):
    """The simulator has no address until it is started."""


class SimulatorStartError(ServiceUnavailable, OSError):
    """The simulator could not listen on its host and port, or did not start in time."""


__all__ = ["FaultSpecError", "SimulatorNotRunning", "SimulatorStartError", "SpeedError"]
