"""From a model's answer to a validated Discovery or MasterPlan, or a list of what is wrong.

Models wrap JSON in code fences or a sentence of prose; `extract_json` finds the one
object in the answer. Every problem found on the way (no object, broken or truncated
JSON, schema violations, plan-wide inconsistencies) becomes one readable line in
`PlanParseError.errors`: the same list goes back to the model in the repair round and
into the generation's error message.
"""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from planner.errors import PlannerError
from planner.plan.schema import Discovery, MasterPlan, consistency_errors

ModelT = TypeVar("ModelT", bound=BaseModel)

_FENCE = re.compile(r"```[A-Za-z0-9_-]*[ \t]*\n?(.*?)(?:```|\Z)", re.DOTALL)
MAX_REPORTED_ERRORS = 20


class PlanParseError(PlannerError, ValueError):
    """The answer is not a valid document; `errors` lists every problem found."""

    def __init__(self, what: str, errors: list[str]) -> None:
        self.what = what
        self.errors = errors
        shown = errors[:MAX_REPORTED_ERRORS]
        more = len(errors) - len(shown)
        text = "; ".join(shown) + (f"; and {more} more" if more > 0 else "")
        super().__init__(f"the {what} answer is invalid: {text}")


def _unfenced(text: str) -> str:
    """The inside of the first code fence that holds a '{', else the text itself."""
    for match in _FENCE.finditer(text):
        if "{" in match.group(1):
            return match.group(1)
    return text


def _position(text: str, index: int) -> str:
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return f"line {line} column {column}"


def extract_json(text: str, what: str = "JSON") -> Any:
    """The first JSON object in `text`, ignoring code fences and prose around it."""
    body = _unfenced(text)
    start = body.find("{")
    if start < 0:
        shown = text.strip()[:80]
        raise PlanParseError(what, [f"no JSON object found in the answer (it starts {shown!r})"])
    try:
        value, _ = json.JSONDecoder().raw_decode(body, start)
    except json.JSONDecodeError as exc:
        if exc.pos >= len(body.rstrip()) or exc.msg.startswith("Unterminated string"):
            problem = (
                f"the JSON stops after {len(body) - start} characters before the object is "
                f"closed (truncated answer; last characters {body.rstrip()[-40:]!r})"
            )
        else:
            problem = f"invalid JSON at {_position(body, exc.pos)}: {exc.msg}"
        raise PlanParseError(what, [problem]) from None
    return value


def _location(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(top level)"


def validation_errors(exc: ValidationError) -> list[str]:
    return [f"{_location(err['loc'])}: {err['msg']}" for err in exc.errors()]


def _validate(model: type[ModelT], value: Any, what: str) -> ModelT:
    if not isinstance(value, dict):
        raise PlanParseError(what, [f"expected a JSON object, got {type(value).__name__}"])
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise PlanParseError(what, validation_errors(exc)) from None


def parse_discovery(text: str) -> Discovery:
    return _validate(Discovery, extract_json(text, "discovery"), "discovery")


def load_masterplan(text: str) -> MasterPlan:
    """A MasterPlan that passed the schema; plan-wide consistency is not checked yet."""
    return _validate(MasterPlan, extract_json(text, "MasterPlan"), "MasterPlan")


def check_masterplan(plan: MasterPlan) -> MasterPlan:
    """The plan, if it is consistent as a whole."""
    if errors := consistency_errors(plan):
        raise PlanParseError("MasterPlan", errors)
    return plan


def parse_masterplan(text: str) -> MasterPlan:
    """A MasterPlan that passed the schema and every consistency check."""
    return check_masterplan(load_masterplan(text))
