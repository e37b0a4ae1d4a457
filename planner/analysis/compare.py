"""Two generations side by side: figures, overlaid timelines, attempts and the plan diff.

What a comparison needs is read with the same functions the detail page uses
(`get_generation`, `chunk_timeline`, `attempts_table`, `load_plan`), for the caller's own
generations only; cost is priced from the model catalogue (None when it has no prices).
The plan diff compares what a reader sees: phase names and task names (with their phase),
so "what differs" is the tasks only one plan has.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd

from planner import catalog
from planner.analysis.attempts import explain_attempts
from planner.analysis.history import get_generation
from planner.analysis.plans import PlanTables, load_plan, task_table
from planner.analysis.timelines import attempts_table, chunk_timeline
from planner.db import Database

SIDES = ("A", "B")
FIGURES = (
    ("status", "status"),
    ("strategy", "strategy"),
    ("fault_spec", "faults"),
    ("model", "model"),
    ("tier", "tier"),
    ("attempts", "attempts"),
    ("input_tokens", "input tokens"),
    ("output_tokens", "output tokens"),
    ("wasted_output_tokens", "wasted output tokens"),
    ("duration_s", "duration (s)"),
)


@dataclass(frozen=True)
class Comparison:
    rows: dict[str, dict[str, Any]]  # side -> the generation's row
    figures: pd.DataFrame  # one row per figure, a column per side
    timelines: pd.DataFrame  # chunk_timeline rows of both, with `side`
    attempts: dict[str, pd.DataFrame]  # side -> explain_attempts
    plan_diff: pd.DataFrame  # phase, task, side (the plan that has it) for tasks only one has


def cost_usd(row: dict[str, Any]) -> Decimal | None:
    """What the generation's recorded usage costs at its model's catalogue prices."""
    spec = catalog.lookup(str(row["model"]))
    if spec is None:
        return None
    usage = catalog.Usage(
        input_tokens=int(row.get("input_tokens") or 0),
        output_tokens=int(row.get("output_tokens") or 0),
        cache_write_5m_tokens=int(row.get("cache_creation_input_tokens") or 0),
        cache_read_tokens=int(row.get("cache_read_input_tokens") or 0),
    )
    return catalog.cost_usd(spec, usage)


def _tasks(tables: PlanTables | None) -> set[tuple[str, str]]:
    if tables is None:
        return set()
    table = task_table(tables)
    return set(zip(table["phase"].astype(str), table["name"].astype(str), strict=True))


def plan_diff(first: PlanTables | None, second: PlanTables | None) -> pd.DataFrame:
    """The tasks (phase, name) only one of the two plans has, and which one."""
    a, b = _tasks(first), _tasks(second)
    rows = [{"phase": p, "task": t, "only in": "A"} for p, t in sorted(a - b)]
    rows += [{"phase": p, "task": t, "only in": "B"} for p, t in sorted(b - a)]
    return pd.DataFrame(rows, columns=["phase", "task", "only in"])


def compare_generations(
    db: Database, first: uuid.UUID, second: uuid.UUID, user_id: uuid.UUID
) -> Comparison | None:
    """Both generations compared, or None when either is not the user's."""
    pairs = zip(SIDES, (first, second), strict=True)
    rows = {side: get_generation(db, gid, user_id) for side, gid in pairs}
    if any(row is None for row in rows.values()):
        return None
    figures = pd.DataFrame(
        [{"figure": label, **{side: rows[side][key] for side in SIDES}} for key, label in FIGURES]
        + [{"figure": "cost (USD)", **{side: cost_usd(rows[side]) for side in SIDES}}]
    )
    timelines = pd.concat(
        [chunk_timeline(db, rows[side]["id"]).assign(side=side) for side in SIDES],
        ignore_index=True,
    )
    attempts = {side: explain_attempts(attempts_table(db, rows[side]["id"])) for side in SIDES}
    plans = {
        side: load_plan(db, rows[side]["masterplan_id"], user_id)
        if rows[side]["masterplan_id"]
        else None
        for side in SIDES
    }
    return Comparison(rows, figures, timelines, attempts, plan_diff(plans["A"], plans["B"]))
