"""Fault specs and strategies in words, where a person chooses or reads them.

A fault profile is JSON (`{"type": "reset", "at_fraction": 0.9, "on_requests": [1]}`)
that says nothing to someone who did not write the simulator. `describe_faults` turns
any spec into one line from the fault registry itself: each fault class's own docstring
(its first sentence) and its parameters in words, so a new fault type is described the
moment it is registered. `describe_strategy` reads the strategy registry's description.
"""

from __future__ import annotations

import dataclasses

from planner.llm.strategies import REGISTRY as STRATEGY_REGISTRY
from planner.sim import FaultSpecError, parse_fault_spec
from planner.sim.toxic import Fault

# Parameters said in words of their own, not as "name value".
_WORDED = {"toxicity", "on_requests", "on_scope", "at_fraction"}


def _first_sentence(fault: Fault) -> str:
    doc = (type(fault).__doc__ or type(fault).type).strip().split("\n\n")[0]
    sentence = " ".join(doc.split()).split(". ")[0].rstrip(".:")
    return sentence[0].lower() + sentence[1:] if sentence else type(fault).type


def _requests(numbers: tuple[int, ...]) -> str:
    ordinal = {1: "first", 2: "second", 3: "third"}
    named = [ordinal.get(n, f"{n}th") for n in numbers]
    said = named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]
    plural = "request" if len(named) == 1 else "requests"
    return f"on the {said} {plural} of each stage"


def _parameter(name: str, value: object) -> str:
    """`retry_after_s` 5 as "retry after 5 s": the unit is in the name (toxiproxy's rule)."""
    for suffix, unit in (("_per_s", "/s"), ("_ms", " ms"), ("_s", " s")):
        if name.endswith(suffix):
            amount = f"{value:,}" if isinstance(value, int) else f"{value}"
            return f"{name.removesuffix(suffix).replace('_', ' ')} {amount}{unit}"
    return f"{name.replace('_', ' ')} {value}"


def describe_fault(fault: Fault) -> str:
    parts = [f"{fault.type}: {_first_sentence(fault)}"]
    at_fraction = getattr(fault, "at_fraction", None)
    if at_fraction is not None:
        parts.append(f"at {at_fraction:.0%} of the answer")
    if fault.on_requests is not None:
        parts.append(_requests(tuple(fault.on_requests)))
    else:
        parts.append("on any request")
    if fault.on_scope is not None:
        parts.append(f"in {fault.on_scope} only")
    if fault.toxicity < 1.0:
        parts.append(f"each time with probability {fault.toxicity:.0%} (drawn from the seed)")
    extra = [
        _parameter(f.name, getattr(fault, f.name))
        for f in dataclasses.fields(fault)
        if f.name not in _WORDED and getattr(fault, f.name) is not None
    ]
    if extra:
        parts.append("; ".join(extra))
    return ", ".join(parts)


def describe_faults(spec: str) -> str:
    """One line in words for a profile name or a JSON spec (what it injects, where, how often)."""
    try:
        parsed = parse_fault_spec(spec)
    except FaultSpecError as exc:
        return f"not a valid fault spec: {exc}"
    if not parsed.faults:
        return "no faults: a clean run"
    return " · ".join(describe_fault(fault) for fault in parsed.faults)


def describe_strategy(name: str) -> str:
    entry = STRATEGY_REGISTRY.get(name)
    return entry.description if entry is not None else f"unknown strategy {name!r}"
