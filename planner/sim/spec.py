"""A fault spec: parsed once at the edge, then carried as a `FaultSpec` object.

A spec is a profile name (`PROFILES`) or a JSON list of faults (a single object is a
list of one). `parse_fault_spec` is the one parser; `FaultSpec.text` is its canonical
text, what the `x-planner-faults` header carries and what planner stores: the profile
name when it was given by name, else compact ASCII JSON listing each fault's type and
its parameters that differ from the defaults, so equal specs have equal text.

Every parameter is checked at parse time against its declared type (a whole number where
the fault counts, a finite number where it measures, true/false, a short string) and
its range, and the spec as a whole against bounds on input size, nesting, fault count
and canonical length (the `x-planner-faults` header budget), so no input can crash a
parse or fail later at run time.
"""

from __future__ import annotations

import dataclasses
import json
import math
import random
import types
import typing
from dataclasses import dataclass, field
from typing import Any

from planner.protocol import FAULTS_HEADER, RunKey
from planner.sim.errors import FaultSpecError
from planner.sim.faults import REGISTRY, Fault

NO_FAULTS = "none"
# Bounds, so that any input is refused in one line at the edge and never at run time:
MAX_SPEC_CHARS = 8_000  # canonical text: one HTTP header (aiohttp takes 8,190 bytes a field)
MAX_INPUT_CHARS = 65_536  # what is read at all before it is parsed
MAX_NESTING = 3  # a list of fault objects, each with an on_requests list
MAX_FAULTS = 50
MAX_ON_REQUESTS = 1_000
MAX_REQUEST_NUMBER = 1_000_000
MAX_STRING_CHARS = 200
MAX_NUMBER = 1e12  # any numeric parameter (ms, s, bytes, tokens a second)

PROFILES: dict[str, list[dict[str, Any]]] = {
    "none": [],
    # the original system's failure: the connection drops late in the first stream
    "drop-at-90": [{"type": "reset", "at_fraction": 0.9, "on_requests": [1]}],
    "drop-at-50": [{"type": "reset", "at_fraction": 0.5, "on_requests": [1]}],
    "drop-twice": [
        {"type": "reset", "at_fraction": 0.3, "on_requests": [1]},
        {"type": "reset", "at_fraction": 0.6, "on_requests": [2]},
    ],
    "flaky": [
        {"type": "http_error", "status": 529, "toxicity": 0.15, "retry_after_s": 1},
        {"type": "reset", "at_fraction": 0.35, "toxicity": 0.2},
        {
            "type": "sse_error",
            "error_type": "overloaded_error",
            "at_fraction": 0.6,
            "toxicity": 0.15,
        },
        {"type": "reset", "at_fraction": 0.85, "toxicity": 0.2},
    ],
    "overloaded": [
        {"type": "http_error", "status": 529, "on_requests": [1, 2], "retry_after_s": 2},
        {
            "type": "sse_error",
            "error_type": "overloaded_error",
            "at_fraction": 0.4,
            "on_requests": [3],
        },
    ],
    "rate-limited": [
        {"type": "http_error", "status": 429, "on_requests": [1, 2], "retry_after_s": 5}
    ],
    "stall": [{"type": "stall", "at_fraction": 0.5, "stall_ms": 120_000, "on_requests": [1]}],
    "eof": [{"type": "eof", "at_fraction": 0.7, "on_requests": [1]}],
    "sse-error": [{"type": "sse_error", "at_fraction": 0.5, "on_requests": [1]}],
    "cutoff-134s": [{"type": "cutoff", "after_s": 134}],
    "slow": [
        {"type": "latency", "latency_ms": 8_000, "jitter_ms": 2_000},
        {"type": "bandwidth", "tokens_per_s": 30},
    ],
    "corrupt": [{"type": "corrupt", "drop_brackets": 1, "prose": True, "on_requests": [1]}],
}


@dataclass(frozen=True)
class FaultSpec:
    """A parsed spec: its canonical text and its faults, in order."""

    text: str = NO_FAULTS
    faults: tuple[Fault, ...] = field(default=())

    @classmethod
    def of(cls, faults: tuple[Fault, ...] | list[Fault]) -> FaultSpec:
        """The spec of these faults, with its canonical JSON text ("none" when empty)."""
        faults = tuple(faults)
        if not faults:
            return cls()
        items = [fault.to_spec_item() for fault in faults]
        # ASCII only, so the text always travels in an HTTP header
        return cls(json.dumps(items, separators=(",", ":"), ensure_ascii=True), faults)

    def fire(self, seed: int, run_key: RunKey, request_number: int) -> tuple[Fault, ...]:
        """The faults that fire on this request: a seeded draw per fault.

        The draw depends on the key's scope, not its run id, so two runs with the same
        seed meet the same faults at the same places.
        """
        fired = []
        for index, fault in enumerate(self.faults):
            rng = random.Random(f"{seed}\x00{run_key.scope}\x00{request_number}\x00{index}")
            if fault.fires(request_number, rng, run_key):
                fired.append(fault)
        return tuple(fired)

    def to_list(self) -> list[dict[str, Any]]:
        return [fault.to_dict() for fault in self.faults]


def _nesting(text: str) -> int:
    """How deeply JSON text nests lists and objects (strings skipped), without parsing it."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise FaultSpecError(f"fault spec numbers must be finite, got {text}")
    return value


def _no_constant(name: str) -> float:
    raise FaultSpecError(f"fault spec numbers must be finite, got {name}")


def load_json(text: str, max_nesting: int = MAX_NESTING) -> Any:
    """JSON text of a spec, bounded in size and depth first: FaultSpecError, never a crash."""
    if len(text) > MAX_INPUT_CHARS:
        raise FaultSpecError(
            f"fault spec is {len(text):,} characters; the limit is {MAX_INPUT_CHARS:,}"
        )
    depth = _nesting(text)
    if depth > max_nesting:
        raise FaultSpecError(
            f"fault spec is nested {depth} levels deep; a spec is a list of fault objects "
            f"(at most {max_nesting} levels)"
        )
    try:
        return json.loads(text, parse_float=_finite, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise FaultSpecError(f"fault spec is not valid JSON: {exc}") from None


def _field_types(cls: type[Fault]) -> dict[str, tuple[type, ...]]:
    """Each parameter's accepted JSON types (None included when it is optional)."""
    hints = typing.get_type_hints(cls)
    accepted: dict[str, tuple[type, ...]] = {}
    for parameter in dataclasses.fields(cls):
        hint = hints[parameter.name]
        args = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
        accepted[parameter.name] = tuple(arg for arg in args if isinstance(arg, type))
    return accepted


def _check_value(where: str, name: str, value: Any, accepted: tuple[type, ...]) -> None:
    if value is None:
        if type(None) not in accepted:
            raise FaultSpecError(f"{where}: {name} cannot be null")
        return
    if bool in accepted:
        if not isinstance(value, bool):
            raise FaultSpecError(f"{where}: {name} must be true or false, got {value!r}")
    elif int in accepted and float not in accepted:
        if isinstance(value, bool) or not isinstance(value, int):
            raise FaultSpecError(f"{where}: {name} must be a whole number, got {value!r}")
    elif float in accepted:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise FaultSpecError(f"{where}: {name} must be a number, got {value!r}")
    elif str in accepted:
        if not isinstance(value, str):
            raise FaultSpecError(f"{where}: {name} must be a string, got {value!r}")
        if len(value) > MAX_STRING_CHARS:
            raise FaultSpecError(
                f"{where}: {name} is {len(value):,} characters; the limit is {MAX_STRING_CHARS}"
            )
        return
    if isinstance(value, int | float) and not isinstance(value, bool) and abs(value) > MAX_NUMBER:
        raise FaultSpecError(f"{where}: {name} is out of range ({value:g}; at most {MAX_NUMBER:g})")


def _requests(where: str, requests: Any) -> tuple[int, ...]:
    if isinstance(requests, int) and not isinstance(requests, bool):
        requests = [requests]
    if not isinstance(requests, list) or not all(
        isinstance(n, int) and not isinstance(n, bool) for n in requests
    ):
        raise FaultSpecError(f"{where}: on_requests must be a list of integers")
    if len(requests) > MAX_ON_REQUESTS:
        raise FaultSpecError(
            f"{where}: on_requests lists {len(requests):,} requests; the limit is {MAX_ON_REQUESTS}"
        )
    if any(not 1 <= n <= MAX_REQUEST_NUMBER for n in requests):
        raise FaultSpecError(
            f"{where}: on_requests are 1-based request numbers up to {MAX_REQUEST_NUMBER:,}"
        )
    return tuple(requests)


def _build(index: int, item: Any) -> Fault:
    if not isinstance(item, dict):
        raise FaultSpecError(f"fault #{index + 1} must be a JSON object, got {_short(item)}")
    kind = item.get("type")
    if not isinstance(kind, str) or kind not in REGISTRY:
        raise FaultSpecError(
            f"fault #{index + 1}: unknown type {_short(kind)}; known types: "
            f"{', '.join(sorted(REGISTRY))}"
        )
    cls = REGISTRY[kind]
    where = f"fault #{index + 1} ({kind})"
    accepted = _field_types(cls)
    params = {k: v for k, v in item.items() if k != "type"}
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise FaultSpecError(
            f"{where}: unknown parameter(s) {[name[:40] for name in unknown][:5]}; "
            f"known: {sorted(accepted)}"
        )
    for name, value in params.items():
        if name == "on_requests":
            if value is not None:
                params[name] = _requests(where, value)
        else:
            _check_value(where, name, value, accepted[name])
    try:
        fault = cls(**params)
        fault.check()
    except FaultSpecError:
        raise
    except (TypeError, ValueError) as exc:
        raise FaultSpecError(f"{where}: {exc}") from None
    return fault


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def parse_fault_spec(text: str | FaultSpec | None) -> FaultSpec:
    """A profile name or a JSON list of faults; FaultSpecError says what is wrong.

    A FaultSpec is returned as it is, so an edge can take either. Every parameter is
    checked for its type and range, and the whole for its size, here at the edge: a spec
    that parses also fits the `x-planner-faults` header it travels in.
    """
    if isinstance(text, FaultSpec):
        return text
    if text is not None and not isinstance(text, str):
        raise FaultSpecError(f"a fault spec is text (a profile name or JSON), got {_short(text)}")
    spec_text = (text or NO_FAULTS).strip() or NO_FAULTS
    if spec_text in PROFILES:
        faults = tuple(_build(i, item) for i, item in enumerate(PROFILES[spec_text]))
        return FaultSpec(spec_text, faults)
    if spec_text[0] not in "[{":
        raise FaultSpecError(
            f"unknown fault profile {_short(spec_text)}; profiles: {', '.join(PROFILES)}; "
            "or give a JSON list like "
            '[{"type": "reset", "at_fraction": 0.9, "on_requests": [1]}]'
        )
    items = load_json(spec_text)
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list):
        raise FaultSpecError("fault spec JSON must be a list of fault objects")
    if len(items) > MAX_FAULTS:
        raise FaultSpecError(f"fault spec lists {len(items):,} faults; the limit is {MAX_FAULTS}")
    spec = FaultSpec.of([_build(i, item) for i, item in enumerate(items)])
    if len(spec.text) > MAX_SPEC_CHARS:
        raise FaultSpecError(
            f"fault spec is {len(spec.text):,} characters in canonical form; the "
            f"{FAULTS_HEADER} header it travels in carries at most {MAX_SPEC_CHARS:,}"
        )
    return spec
