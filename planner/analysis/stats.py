"""Fallback statistics over a user's finished generations.

Counts (tiers, success per strategy × fault profile) are grouped in the database. The
distributions need one number per generation, so `outcomes` reads those few columns of
finished generations and pandas derives the rest:

- wasted tokens: output tokens the model produced that are not in the final text;
- time overhead: wall time per final token, divided by the fault-free baseline (the
  median of the user's completed `none` generations at the same model and simulator
  speed). 1.0 means "as fast as without faults"; 1.4 means 40% slower. Only completed
  generations have one (a failed run has no comparable time); without a fault-free run
  at that model and speed the overhead is unknown (NaN), never guessed.
"""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Integer, case, func, select

from planner.analysis._query import read_frame
from planner.db import Database, Generation
from planner.store.status import LIVE_STATUSES, GenerationStatus

OUTCOME_COLUMNS = (
    "id",
    "created_at",
    "strategy",
    "fault_spec",
    "model",
    "speed",
    "status",
    "tier",
    "attempts",
    "duration_s",
    "output_tokens",
    "wasted_output_tokens",
)


def _finished(user_id: uuid.UUID) -> Any:
    return (Generation.user_id == user_id) & Generation.status.not_in(LIVE_STATUSES)


def tier_counts(db: Database, user_id: uuid.UUID) -> pd.DataFrame:
    """How often each strategy ended at each tier: strategy, tier, count."""
    tier = func.coalesce(Generation.tier, "unknown").label("tier")
    statement = (
        select(Generation.strategy, tier, func.count().label("count"))
        .where(_finished(user_id))
        .group_by(Generation.strategy, tier)
        .order_by(Generation.strategy, tier)
    )
    frame = read_frame(db, statement)
    if frame.empty:
        return pd.DataFrame(columns=["strategy", "tier", "count"])
    return frame.astype({"count": int})


def success_matrix(db: Database, user_id: uuid.UUID) -> pd.DataFrame:
    """Runs, completions and success rate per strategy × fault profile."""
    is_completed = Generation.status == GenerationStatus.COMPLETED
    completed = func.sum(case((is_completed, 1), else_=0)).cast(Integer)
    statement = (
        select(
            Generation.strategy,
            Generation.fault_spec,
            func.count().label("runs"),
            completed.label("completed"),
        )
        .where(_finished(user_id))
        .group_by(Generation.strategy, Generation.fault_spec)
        .order_by(Generation.strategy, Generation.fault_spec)
    )
    frame = read_frame(db, statement)
    if frame.empty:
        return pd.DataFrame(columns=["strategy", "fault_spec", "runs", "completed", "success_rate"])
    frame = frame.astype({"runs": int, "completed": int})
    frame["success_rate"] = frame["completed"] / frame["runs"]
    return frame


def outcomes(db: Database, user_id: uuid.UUID) -> pd.DataFrame:
    """One row per finished generation with wasted-token and time-overhead figures.

    Adds final_tokens, wasted_ratio (wasted ÷ output), seconds_per_token,
    baseline_seconds_per_token, overhead_ratio and overhead_s (wall time beyond the
    fault-free baseline for the same number of final tokens).
    """
    statement = (
        select(*(getattr(Generation, name) for name in OUTCOME_COLUMNS))
        .where(_finished(user_id))
        .order_by(Generation.created_at)
    )
    frame = read_frame(db, statement)
    if frame.empty:
        extra = [
            "final_tokens",
            "wasted_ratio",
            "seconds_per_token",
            "baseline_seconds_per_token",
            "overhead_ratio",
            "overhead_s",
        ]
        return pd.DataFrame(columns=[*OUTCOME_COLUMNS, *extra])
    output = frame["output_tokens"].astype(float)
    frame["final_tokens"] = (output - frame["wasted_output_tokens"]).clip(lower=0)
    frame["wasted_ratio"] = (frame["wasted_output_tokens"] / output.replace(0, np.nan)).fillna(0.0)
    finals = frame["final_tokens"].replace(0, np.nan)
    frame["seconds_per_token"] = pd.to_numeric(frame["duration_s"], errors="coerce") / finals
    baseline_rows = frame[(frame["fault_spec"] == "none") & (frame["status"] == "completed")]
    baseline = (
        baseline_rows.groupby(["model", "speed"])["seconds_per_token"]
        .median()
        .rename("baseline_seconds_per_token")
    )
    frame = frame.join(baseline, on=["model", "speed"])
    completed = frame["status"] == "completed"
    frame["overhead_ratio"] = (
        frame["seconds_per_token"] / frame["baseline_seconds_per_token"]
    ).where(completed)
    frame["overhead_s"] = (
        frame["duration_s"] - frame["baseline_seconds_per_token"] * finals
    ).where(completed)
    return frame


def describe(values: pd.Series) -> dict[str, float]:
    """count, median, p90, p95, mean and max of the non-missing values (NaN when none)."""
    clean = pd.to_numeric(values, errors="coerce").dropna()
    if clean.empty:
        return {k: float("nan") for k in ("count", "median", "p90", "p95", "mean", "max")} | {
            "count": 0.0
        }
    return {
        "count": float(len(clean)),
        "median": float(clean.median()),
        "p90": float(clean.quantile(0.90)),
        "p95": float(clean.quantile(0.95)),
        "mean": float(clean.mean()),
        "max": float(clean.max()),
    }


def summary_by(
    frame: pd.DataFrame, column: str, by: tuple[str, ...] = ("strategy",)
) -> pd.DataFrame:
    """`describe(frame[column])` per group, as a table for display beside a chart."""
    if frame.empty:
        return pd.DataFrame(columns=[*by, "count", "median", "p90", "p95", "mean", "max"])
    rows = [
        {
            **dict(zip(by, key if isinstance(key, tuple) else (key,), strict=True)),
            **describe(group[column]),
        }
        for key, group in frame.groupby(list(by), dropna=False)
    ]
    table = pd.DataFrame(rows)
    return table.astype({"count": int})


def histogram(
    frame: pd.DataFrame, column: str, *, by: str = "strategy", bins: int = 30
) -> pd.DataFrame:
    """Counts of `frame[column]` in equal-width bins shared by every `by` group.

    Returns bin_start, bin_end, group and count (empty bins left out): a chart of any
    number of generations stays a few dozen rows.
    """
    columns = ["bin_start", "bin_end", "group", "count"]
    values = pd.to_numeric(frame[column], errors="coerce") if column in frame else pd.Series()
    valid = frame.loc[values.notna()] if not values.empty else frame.iloc[0:0]
    if valid.empty:
        return pd.DataFrame(columns=columns)
    numbers = values[values.notna()].astype(float)
    low, high = float(numbers.min()), float(numbers.max())
    if high == low:
        high = low + 1.0
    edges = np.linspace(low, high, bins + 1)
    rows = []
    for group, part in numbers.groupby(valid[by].astype(str)):
        counts, _ = np.histogram(part.to_numpy(), bins=edges)
        rows.extend(
            {"bin_start": edges[i], "bin_end": edges[i + 1], "group": group, "count": int(c)}
            for i, c in enumerate(counts)
            if c
        )
    return pd.DataFrame(rows, columns=columns)
