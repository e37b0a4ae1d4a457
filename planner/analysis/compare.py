"""Two generations, or two experiments, side by side.

Generations: figures, overlaid timelines, attempts and the plan diff. What a comparison
needs is read with the same functions the detail page uses (`get_generation`,
`chunk_timeline`, `attempts_table`, `load_plan`), for the caller's own generations only;
cost is priced from the model catalogue (None when it has no prices). The plan diff
compares what a reader sees: phase names and task names (with their phase), so "what
differs" is the tasks only one plan has.

Experiments: each strategy × fault cell of either, with both experiments' figures from the
summary the experiments page and `planner experiment` print (`experiment_summary`): the
success rate with its n and 95% interval, the median slowdown and the token ratio, and
whether the two success rates differ beyond their intervals (`differs`: the intervals do
not overlap; a cell only one experiment ran cannot differ).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd

from planner import catalog
from planner.analysis.attempts import explain_attempts
from planner.analysis.experiments import (
    experiment_summary,
    figure_text,
    format_success,
    list_experiments,
)
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


@dataclass(frozen=True)
class ExperimentComparison:
    experiments: dict[str, dict[str, Any]]  # side -> the experiment's `list_experiments` row
    cells: pd.DataFrame  # one row per strategy × fault: EXPERIMENT_CELL_COLUMNS


# Per side (`success A`, `success B`, ...): what each experiment's summary says of the cell.
SIDE_FIGURES = ("runs", "success", "median_slowdown", "token_ratio")
EXPERIMENT_CELL_COLUMNS = (
    "strategy",
    "fault",
    *(f"{figure} {side}" for figure in SIDE_FIGURES for side in SIDES),
    "success change",
    "differs",
)


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


def _side(summary: pd.DataFrame, side: str) -> pd.DataFrame:
    frame = summary.set_index(["strategy", "fault"])
    return pd.DataFrame(
        {
            f"runs {side}": frame["runs"],
            f"success {side}": [format_success(row) for row in summary.itertuples()],
            f"median_slowdown {side}": frame["median_slowdown"],
            f"token_ratio {side}": frame["token_ratio"],
            f"_rate {side}": frame["success_rate"],
            f"_low {side}": frame["success_low"],
            f"_high {side}": frame["success_high"],
        },
        index=frame.index,
    )


def intervals_apart(first: tuple[float, float], second: tuple[float, float]) -> bool:
    """Two success rates differ when their 95% intervals (low, high) do not overlap."""
    return first[1] < second[0] or second[1] < first[0]


def _differs(row: pd.Series) -> str:
    if row[["_rate A", "_rate B"]].isna().any():
        return "—"
    apart = intervals_apart((row["_low A"], row["_high A"]), (row["_low B"], row["_high B"]))
    return "yes" if apart else "no"


def compare_experiments(
    db: Database, first: uuid.UUID, second: uuid.UUID, user_id: uuid.UUID
) -> ExperimentComparison | None:
    """Both experiments compared cell by cell, or None when either is not the user's."""
    owned = list_experiments(db, user_id=user_id)
    experiments: dict[str, dict[str, Any]] = {}
    for side, experiment_id in zip(SIDES, (first, second), strict=True):
        match = owned[owned["experiment_id"].astype(str) == str(experiment_id)]
        if match.empty:
            return None
        experiments[side] = match.iloc[0].to_dict()
    sides = [_side(experiment_summary(db, e["experiment_id"]), s) for s, e in experiments.items()]
    cells = pd.concat(sides, axis=1, join="outer", sort=False)
    cells["success change"] = cells["_rate B"] - cells["_rate A"]
    cells["differs"] = cells.apply(_differs, axis=1) if len(cells) else []
    for side in SIDES:
        cells[f"runs {side}"] = cells[f"runs {side}"].fillna(0).astype(int)
        cells[f"success {side}"] = cells[f"success {side}"].fillna("not in this experiment")
    cells = cells.reset_index().rename(columns={"level_0": "strategy", "level_1": "fault"})
    return ExperimentComparison(experiments, cells[list(EXPERIMENT_CELL_COLUMNS)])


def shown_cells(cells: pd.DataFrame) -> pd.DataFrame:
    """`ExperimentComparison.cells` as a page shows them: n is inside each success, the
    figures are text (a dash where a cell has none), the change in points."""
    shown = cells[["strategy", "fault"]].copy()
    for side in SIDES:
        shown[f"success {side}"] = cells[f"success {side}"]
    for side in SIDES:
        shown[f"median slowdown {side}"] = cells[f"median_slowdown {side}"].map(
            lambda v: figure_text(v, "×{:.2f}")
        )
    for side in SIDES:
        shown[f"tokens ÷ final {side}"] = cells[f"token_ratio {side}"].map(
            lambda v: figure_text(v, "{:.2f}")
        )
    shown["success change"] = cells["success change"].map(
        lambda v: figure_text(100 * v, "{:+.0f} pts")
    )
    shown["differs"] = cells["differs"]
    return shown
