"""Arbitrary input for the entry points that take a fault spec (issue 17.6): JSON of any
shape, fault-like objects with any field values, deep nesting, oversized specs, plain text.
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from planner.sim import FAULT_TYPES

NAMES = sorted(
    {name for cls in FAULT_TYPES.values() for name in cls.__dataclass_fields__} - {"type"}
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
fault_like = st.fixed_dictionaries(
    {"type": st.sampled_from(sorted(FAULT_TYPES)) | st.text(max_size=8)},
    optional={name: json_values for name in NAMES},
)
specs = st.one_of(
    json_values.map(json.dumps),
    st.lists(fault_like, max_size=4).map(json.dumps),
    fault_like.map(json.dumps),
    st.integers(min_value=1, max_value=3000).map(lambda depth: "[" * depth + "]" * depth),
    st.integers(min_value=10, max_value=3000).map(
        lambda count: json.dumps([{"type": "reset", "on_scope": "s" * 150}] * (count // 10))
    ),
    st.text(max_size=60),
)
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))


def one_line(message: str) -> bool:
    return bool(message.strip()) and "\n" not in message.strip() and "Traceback" not in message
