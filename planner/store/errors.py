"""What the store refuses: a generation that is not there, or not in a state to resume."""

from __future__ import annotations

from planner.errors import ConflictError, NotFoundError


class GenerationNotFound(NotFoundError, LookupError):
    """No generation with that id is stored."""


class GenerationNotResumable(ConflictError, ValueError):
    """The generation exists but cannot be resumed now; the message says why."""
