"""A fault spec: parsed once at the edge, then carried as a `FaultSpec` object.

A spec is a profile name (`PROFILES`) or a JSON list of faults (a single object is a
list of one). `parse_fault_spec` is the one parser; `FaultSpec.text` is its canonical
text, what the `x-planner-faults` header carries and what planner stores: the profile
name when it was given by name, else compact JSON listing each fault's type and its
parameters that differ from the defaults, so equal specs have equal text.
"""

from __future__ import annotations

import dataclasses
import json
import random
from dataclasses import dataclass, field
from typing import Any

from planner.protocol import RunKey
from planner.sim.errors import FaultSpecError
from planner.sim.faults import REGISTRY, Fault

NO_FAULTS = "none"

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
        return cls(json.dumps(items, separators=(",", ":"), ensure_ascii=False), faults)

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


def _build(index: int, item: Any) -> Fault:
    if not isinstance(item, dict):
        raise FaultSpecError(f"fault #{index + 1} must be a JSON object, got {item!r}")
    kind = item.get("type")
    if kind not in REGISTRY:
        raise FaultSpecError(
            f"fault #{index + 1}: unknown type {kind!r}; known types: {', '.join(sorted(REGISTRY))}"
        )
    cls = REGISTRY[kind]
    known = {f.name for f in dataclasses.fields(cls)}
    params = {k: v for k, v in item.items() if k != "type"}
    unknown = sorted(set(params) - known)
    if unknown:
        raise FaultSpecError(
            f"fault #{index + 1} ({kind}): unknown parameter(s) {unknown}; known: {sorted(known)}"
        )
    if "on_requests" in params and params["on_requests"] is not None:
        requests = params["on_requests"]
        if isinstance(requests, int) and not isinstance(requests, bool):
            requests = [requests]
        if not isinstance(requests, list) or not all(
            isinstance(n, int) and not isinstance(n, bool) for n in requests
        ):
            raise FaultSpecError(
                f"fault #{index + 1} ({kind}): on_requests must be a list of integers"
            )
        params["on_requests"] = tuple(requests)
    for name, value in params.items():
        if (
            name != "on_requests"
            and value is not None
            and not isinstance(value, int | float | str | bool)
        ):
            raise FaultSpecError(
                f"fault #{index + 1} ({kind}): {name} must be a number or a string"
            )
    try:
        fault = cls(**params)
        fault.check()
    except FaultSpecError:
        raise
    except (TypeError, ValueError) as exc:
        raise FaultSpecError(f"fault #{index + 1} ({kind}): {exc}") from None
    return fault


def parse_fault_spec(text: str | FaultSpec | None) -> FaultSpec:
    """A profile name or a JSON list of faults; FaultSpecError says what is wrong.

    A FaultSpec is returned as it is, so an edge can take either.
    """
    if isinstance(text, FaultSpec):
        return text
    spec_text = (text or NO_FAULTS).strip() or NO_FAULTS
    if spec_text in PROFILES:
        faults = tuple(_build(i, item) for i, item in enumerate(PROFILES[spec_text]))
        return FaultSpec(spec_text, faults)
    if spec_text[0] in "[{":
        try:
            items = json.loads(spec_text)
        except json.JSONDecodeError as exc:
            raise FaultSpecError(f"fault spec is not valid JSON: {exc}") from None
        if isinstance(items, dict):
            items = [items]
        if not isinstance(items, list):
            raise FaultSpecError("fault spec JSON must be a list of fault objects")
    else:
        raise FaultSpecError(
            f"unknown fault profile {spec_text!r}; profiles: {', '.join(PROFILES)}; "
            "or give a JSON list like "
            '[{"type": "reset", "at_fraction": 0.9, "on_requests": [1]}]'
        )
    return FaultSpec.of([_build(i, item) for i, item in enumerate(items)])
