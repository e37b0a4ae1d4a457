"""The client → server payloads of the Socket.IO contract, validated with pydantic.

Unknown fields are refused rather than ignored, so a misspelt `after_seq` is an error
the client sees instead of a silent default.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError

MAX_CATCH_UP_PAGE = 5000
DEFAULT_CATCH_UP_PAGE = 1000


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StartGeneration(Payload):
    """Shapes only: the generation service judges the values (`GenerationRequestError`)."""

    description: StrictStr
    strategy: StrictStr = "resume"
    faults: StrictStr = "none"
    speed: float = Field(default=1.0, allow_inf_nan=False)


class GenerationRef(Payload):
    generation_id: uuid.UUID


class CatchUp(Payload):
    generation_id: uuid.UUID
    after_seq: int = Field(ge=0, strict=True)
    limit: int = Field(default=DEFAULT_CATCH_UP_PAGE, ge=1, le=MAX_CATCH_UP_PAGE, strict=True)


def describe(error: ValidationError) -> str:
    """One readable line per problem: `after_seq: Input should be ... (got -1)`."""
    lines = []
    for item in error.errors(include_url=False):
        where = ".".join(str(part) for part in item["loc"]) or "payload"
        got: Any = item.get("input")
        shown = "" if isinstance(got, dict) else f" (got {_short(repr(got))})"
        lines.append(f"{where}: {item['msg']}{shown}")
    return "; ".join(lines)


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
