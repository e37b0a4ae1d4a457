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

Fault success rates (`fault_success_rates`) are the one computation the dashboard, the
`planner stats` command and the notebooks share. A rate counts only runs that ran to an
outcome under the fault: a cancelled run, an interrupted one (its process died) and a
configuration failure (a wrong model name, a refused key: no fault involved) are counted
apart, never as failures of a strategy. Each rate has its n and a 95% Wilson interval
(`planner.contenders.stats`), and a cell whose fault never fired in any of its runs (no
failed attempt, no repair round) is flagged: its rate says nothing about recovery.

Contender runs (other libraries' recovery paths and the oracle, in experiments) have no
generation; their rows are read from `experiment_runs` (`planner.analysis.contender_outcomes`)
and rated by the same rule, one row per contender × fault profile with `kind` = `contender`
(planner's strategies: `strategy`), after the strategies' rows. The tier, overhead and
wasted-token figures stay the generations' own.

One rule for both: a strategy's generation that an experiment judged (its run's
`outcome`, `planner.experiment_judging`) succeeded only when the judge found its plan text
equal to the fault-free answer, as a contender's run does; a generation outside an
experiment has no fault-free answer to compare with, and its completion is its success.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Integer, case, func, select

from planner.analysis._query import read_frame
from planner.analysis.contender_outcomes import contender_run_outcomes
from planner.contenders import Outcome
from planner.contenders.stats import wilson_interval
from planner.db import Database, ExperimentRun, Generation, GenerationAttempt
from planner.plan.spec import CANCELLED_MESSAGE
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
    if (numbers == numbers.round()).all() and high - low < bins:
        # Whole numbers over a narrow range get one bin per value: never "0 0 0 0" ticks.
        edges = np.arange(low, high + 2, dtype=float)
    else:
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


# Attempt error kinds (planner.llm.errors) that no fault causes: the request itself is wrong.
CONFIGURATION_KINDS = ("invalid_request", "authentication", "not_found")
RATE_COLUMNS = (
    "strategy",
    "kind",
    "fault_spec",
    "n",
    "successes",
    "success_rate",
    "ci_low",
    "ci_high",
    "fired",
    "never_fired",
    "cancelled",
    "interrupted",
    "configuration",
)


@dataclass(frozen=True)
class StatsFilter:
    """Which generations the statistics cover (every field optional)."""

    experiment_id: uuid.UUID | None = None
    since: date | None = None
    until: date | None = None  # inclusive
    models: tuple[str, ...] = ()
    speeds: tuple[float, ...] = ()

    def within_dates(self, column: Any) -> list[Any]:
        """Conditions keeping `column` (a timestamp) inside since..until, both days whole."""
        conditions = []
        if self.since is not None:
            conditions.append(column >= datetime.combine(self.since, time()))
        if self.until is not None:
            conditions.append(column < datetime.combine(self.until + timedelta(days=1), time()))
        return conditions


def _filtered(statement: Any, user_id: uuid.UUID, filters: StatsFilter) -> Any:
    statement = statement.where(_finished(user_id))
    if filters.experiment_id is not None:
        runs = select(ExperimentRun.generation_id).where(
            ExperimentRun.experiment_id == filters.experiment_id
        )
        statement = statement.where(Generation.id.in_(runs))
    statement = statement.where(*filters.within_dates(Generation.created_at))
    if filters.models:
        statement = statement.where(Generation.model.in_(filters.models))
    if filters.speeds:
        statement = statement.where(Generation.speed.in_(filters.speeds))
    return statement


def run_outcomes(
    db: Database, user_id: uuid.UUID, filters: StatsFilter | None = None
) -> pd.DataFrame:
    """One row per finished generation: how it ended (`outcome`) and whether its fault fired.

    outcome is `completed`, `failed` (both ran to an outcome under the fault),
    `cancelled`, `interrupted` or `configuration`.
    """
    is_error = GenerationAttempt.error_type.is_not(None)
    attempts = (
        select(
            GenerationAttempt.generation_id,
            func.sum(case((is_error, 1), else_=0)).cast(Integer).label("failed_attempts"),
            func.sum(case((GenerationAttempt.error_type.in_(CONFIGURATION_KINDS), 1), else_=0))
            .cast(Integer)
            .label("configuration_errors"),
            func.sum(case((GenerationAttempt.stage.like("%_repair"), 1), else_=0))
            .cast(Integer)
            .label("repair_attempts"),
        )
        .group_by(GenerationAttempt.generation_id)
        .subquery()
    )
    statement = _filtered(
        select(
            Generation.id,
            Generation.strategy,
            Generation.fault_spec,
            Generation.status,
            Generation.error,
            Generation.attempts,
            func.coalesce(attempts.c.failed_attempts, 0).label("failed_attempts"),
            func.coalesce(attempts.c.configuration_errors, 0).label("configuration_errors"),
            func.coalesce(attempts.c.repair_attempts, 0).label("repair_attempts"),
            ExperimentRun.outcome.label("verdict"),
        )
        .outerjoin(attempts, attempts.c.generation_id == Generation.id)
        .outerjoin(ExperimentRun, ExperimentRun.generation_id == Generation.id),
        user_id,
        filters or StatsFilter(),
    ).order_by(Generation.created_at)
    frame = read_frame(db, statement)
    columns = ["id", "strategy", "fault_spec", "outcome", "fired"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    error = frame["error"].fillna("").astype(str)
    failed = frame["status"] == GenerationStatus.FAILED
    cancelled = failed & error.str.startswith(CANCELLED_MESSAGE)
    configuration = (
        failed
        & ~cancelled
        & ((frame["configuration_errors"] > 0) | (frame["attempts"].fillna(0) == 0))
    )
    # completed, unless the experiment's judge found its text differs from the answer
    judged_wrong = frame["verdict"].notna() & (frame["verdict"] != Outcome.COMPLETE.value)
    frame["outcome"] = np.select(
        [
            (frame["status"] == GenerationStatus.COMPLETED) & ~judged_wrong,
            frame["status"] == GenerationStatus.INTERRUPTED,
            cancelled,
            configuration,
        ],
        ["completed", "interrupted", "cancelled", "configuration"],
        default="failed",
    )
    frame["fired"] = (frame["failed_attempts"] - frame["configuration_errors"] > 0) | (
        frame["repair_attempts"] > 0
    )
    return frame[columns]


def _rows(runs: pd.DataFrame, kind: str) -> list[dict[str, Any]]:
    rows = []
    for (strategy, fault_spec), group in runs.groupby(["strategy", "fault_spec"], sort=True):
        counted = group[group["outcome"].isin(["completed", "failed"])]
        n = len(counted)
        successes = int((counted["outcome"] == "completed").sum())
        interval = wilson_interval(successes, n)
        fired = int(counted["fired"].sum())
        known = bool(counted["fired_known"].all()) if "fired_known" in counted else True
        rows.append(
            {
                "strategy": strategy,
                "kind": kind,
                "fault_spec": fault_spec,
                "n": n,
                "successes": successes,
                "success_rate": successes / n if n else float("nan"),
                "ci_low": interval.low if n else float("nan"),
                "ci_high": interval.high if n else float("nan"),
                "fired": fired,
                "never_fired": fault_spec != "none" and n > 0 and fired == 0 and known,
                "cancelled": int((group["outcome"] == "cancelled").sum()),
                "interrupted": int((group["outcome"] == "interrupted").sum()),
                "configuration": int((group["outcome"] == "configuration").sum()),
            }
        )
    return rows


def fault_success_rates(
    db: Database, user_id: uuid.UUID, filters: StatsFilter | None = None
) -> pd.DataFrame:
    """Success per strategy (or contender) × fault spec over the runs that ran to an outcome.

    Columns: strategy (a contender's name in a contender's row), kind (`strategy` or
    `contender`), fault_spec, n (runs that completed or failed under the fault),
    successes, success_rate (NaN when n is 0), ci_low and ci_high (95% Wilson), fired
    (runs in which the fault fired), never_fired (a fault other than `none` that fired
    in none of its runs; a contender's cell only when each run says whether it fired),
    and the runs counted apart: cancelled, interrupted, configuration.
    """
    rows = _rows(run_outcomes(db, user_id, filters), "strategy")
    rows += _rows(contender_run_outcomes(db, user_id, filters), "contender")
    return pd.DataFrame(rows, columns=list(RATE_COLUMNS))


def rate_label(row: Any) -> str:
    """The name a rate's row is shown under: a contender's says so (`sdk (contender)`)."""
    kind = getattr(row, "kind", "strategy")
    return f"{row.strategy} (contender)" if kind == "contender" else str(row.strategy)


def format_rate(row: Any) -> str:
    """A rate as every front end prints it: `67% (2/3, 95% CI 21–94%)`, or `no runs`."""
    return rate_text(row.successes, row.n, row.success_rate, row.ci_low, row.ci_high)


def rate_text(successes: int, n: int, rate: float, low: float, high: float) -> str:
    """`format_rate` from its figures."""
    if not n:
        return "no runs"
    return f"{rate:.0%} ({successes}/{n}, 95% CI {100 * low:.0f}–{high:.0%})"
