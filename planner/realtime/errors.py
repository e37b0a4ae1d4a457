"""The Socket.IO endpoint's exceptions, each under its category in `planner.errors`.

None of them reaches a client as a Python exception: a refused request becomes the
`error` event `{event, code, message}` (its `code` is part of the Socket.IO contract), a
refused connection becomes `connect_error`, and a failed start is one line for the
operator (`planner serve`, the dashboard's sidebar)::

    ServiceUnavailable
    └── RealtimeStartError            port taken, Redis unreachable, ...
    AuthError
    ├── NotAuthenticated              (planner.realtime.auth) no usable token at connect
    └── TokenNoLongerValid            the token expired or its user went mid-connection
    RequestRefused                    a client request the endpoint refuses; `code` on the wire
    ├── InvalidPayload  (InputError)      code "invalid_payload"
    ├── NoSuchGeneration  (NotFoundError) code "not_found": unknown and foreign ids alike
    ├── RateLimited  (ConflictError)      code "rate_limited": over the connection's bucket
    ├── TooManyGenerationsRefused (ConflictError) code "too_many_generations": user's cap
    └── NotNow  (ConflictError)           code "conflict": not resumable / nothing to cancel
"""

from __future__ import annotations

from typing import ClassVar

from planner.errors import (
    AuthError,
    ConflictError,
    InputError,
    NotFoundError,
    PlannerError,
    ServiceUnavailable,
)


class RealtimeStartError(ServiceUnavailable):
    """The endpoint could not start (port taken, Redis unreachable, ...)."""


class TokenNoLongerValid(AuthError):
    """The connection's token expired or its user went; the client was disconnected."""

    def __init__(self, error: dict[str, str]) -> None:
        super().__init__(error["message"])
        self.error = error


class RequestRefused(PlannerError):
    """A client request the endpoint refuses; `code` is what the client reads."""

    code: ClassVar[str]

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidPayload(RequestRefused, InputError):
    code = "invalid_payload"


class NoSuchGeneration(RequestRefused, NotFoundError):
    code = "not_found"


class RateLimited(RequestRefused, ConflictError):
    code = "rate_limited"


class TooManyGenerationsRefused(RequestRefused, ConflictError):
    code = "too_many_generations"


class NotNow(RequestRefused, ConflictError):
    code = "conflict"


class ShuttingDown(RequestRefused):
    """The endpoint is stopping: its database pool takes no more work."""

    code = "shutting_down"
