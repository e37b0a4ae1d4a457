"""Failure-mode experiments as DataFrames: runs, the strategy × fault summary, a ranking.

Shared by `planner experiment` (its closing table), the dashboard and the notebooks.

Measures, per run (completed runs only; a failed run has no comparable time or text):
- slowdown = model time ÷ fault-free model time. Model time is the wall time a run spent
  getting its text: per stage, from the first request to the last byte (retries, backoff
  waits and repair rounds included), summed over stages; planner's local parse and save
  work is left out because faults do not change it and at high simulator speeds it
  would swamp the network time. A strategy's fault-free time is that of the experiment's
  fault-free run with the same seed and strategy (so the same plan text, and a baseline
  cell is exactly 1.00); without one, the median of planner's fault-free runs with that
  seed (without faults every strategy makes the same single stream per stage). A
  contender (`planner.contenders`) is measured against that same per-seed reference of
  planner's strategies, so its own cost without faults shows (a library that spends more
  CPU per delta is slower at high speed); only an experiment of contenders alone falls
  back to their fault-free runs. A contender's model time is its two requests' wall time.
  Times are the stored attempt timings, never a clock read where the page is drawn.
  Those runs share the pool and the simulator speed with the faulty ones; 1.0 = no cost.
  Keep the simulator speed moderate (50-100): far above it the client is CPU-bound, the
  machine's load sets the pace and the ratios get noisy (fault-free runs of one seed
  spread over about +-40 % at speed 400 on a busy 2-core machine, +-4 % at 60).
  `wall_slowdown` is the same ratio on the generation's whole duration.
- token_ratio = output tokens ÷ final tokens, where final tokens = output tokens minus
  the wasted ones (generated but not in the answers); 1.0 = nothing generated twice.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select

from planner.analysis._query import read_frame
from planner.analysis.contenders import ORACLE, distance_to_oracle, oracle_runs
from planner.analysis.stats import rate_text
from planner.contenders import Outcome
from planner.contenders.stats import wilson_interval
from planner.db import Database, Experiment, ExperimentRun, Generation, GenerationAttempt
from planner.failures import failure_points, fault_for

BASELINE_FAULT = "none"
RUN_COLUMNS = (
    "run_id",
    "experiment_id",
    "generation_id",
    "fault",
    "fault_spec",
    "strategy",
    "repeat_index",
    "seed",
    "status",
    "tier",
    "attempts",
    "duration_s",
    "baseline_duration_s",
    "wall_slowdown",
    "model_time_s",
    "baseline_model_time_s",
    "slowdown",
    "output_tokens",
    "final_tokens",
    "wasted_output_tokens",
    "token_ratio",
    "error",
    "kind",
    "outcome",
    "delivered_chars",
    "config",
    "versions",
)
SUMMARY_COLUMNS = (
    "strategy",
    "fault",
    "runs",
    "completed",
    "success_rate",
    "success_low",
    "success_high",
    "outcomes",
    "median_slowdown",
    "p95_slowdown",
    "token_ratio",
    "mean_attempts",
    "tiers",
    "oracle_pairs",
    "oracle_time_ratio",
    "oracle_time_low",
    "oracle_time_high",
    "oracle_tokens_ratio",
    "oracle_tokens_low",
    "oracle_tokens_high",
)


def fault_label(spec: str) -> str:
    """A short name for a fault spec: the profile name, or its faults as type@scope#requests.

    `[{"type": "reset", "at_fraction": 0.9, "on_requests": [1], "on_scope": "masterplan"}]`
    reads `reset(90%)@masterplan#1`; without `on_requests` or `on_scope` the fault hits
    every request.
    """
    text = spec.strip()
    if not text.startswith(("[", "{")):
        return text
    try:
        items = json.loads(text)
    except json.JSONDecodeError:
        return text[:40]
    items = items if isinstance(items, list) else [items]
    return "+".join(_fault_name(i) for i in items if isinstance(i, dict)) or "[]"


def _fault_name(item: dict[str, Any]) -> str:
    name = str(item.get("type", "?"))
    if isinstance(item.get("at_fraction"), int | float):
        # where in the answer it strikes: drops at 10% and 90% are different faults
        name += f"({item['at_fraction']:.0%})"
    if item.get("on_scope"):
        name += f"@{item['on_scope']}"
    if item.get("on_requests"):
        name += "#" + ",".join(map(str, item["on_requests"]))
    return name


def list_experiments(db: Database, *, user_id: uuid.UUID | None = None) -> pd.DataFrame:
    """Every experiment, newest first."""
    statement = select(
        Experiment.id.label("experiment_id"),
        Experiment.name,
        Experiment.status,
        Experiment.faults,
        Experiment.strategies,
        Experiment.repeats,
        Experiment.concurrency,
        Experiment.speed,
        Experiment.seed,
        Experiment.from_generation_id,
        Experiment.created_at,
        Experiment.finished_at,
    ).order_by(Experiment.created_at.desc())
    if user_id is not None:
        statement = statement.where(Experiment.user_id == user_id)
    return read_frame(db, statement)


def experiment_status(db: Database, experiment_id: uuid.UUID) -> str | None:
    """The experiment's status (`running` until it is closed); None if there is none."""
    return db.read(
        lambda conn: conn.scalar(select(Experiment.status).where(Experiment.id == experiment_id))
    )


def _model_times(experiment_id: uuid.UUID) -> Any:
    """Per generation of the experiment: the summed first-request-to-last-byte stage spans."""
    spans = (
        select(
            GenerationAttempt.generation_id,
            (
                func.max(func.coalesce(GenerationAttempt.end_ms, GenerationAttempt.start_ms))
                - func.min(GenerationAttempt.start_ms)
            ).label("span_ms"),
        )
        .join(ExperimentRun, ExperimentRun.generation_id == GenerationAttempt.generation_id)
        .where(ExperimentRun.experiment_id == experiment_id)
        .group_by(GenerationAttempt.generation_id, GenerationAttempt.stage)
        .subquery()
    )
    return (
        select(spans.c.generation_id, (func.sum(spans.c.span_ms) / 1000.0).label("model_time_s"))
        .group_by(spans.c.generation_id)
        .subquery()
    )


def experiment_runs(db: Database, experiment_id: uuid.UUID | str) -> pd.DataFrame:
    """One row per run, with its slowdown and token ratio (NaN unless it completed)."""
    key = uuid.UUID(str(experiment_id))
    model = _model_times(key)
    statement = (
        select(
            ExperimentRun.id.label("run_id"),
            ExperimentRun.experiment_id,
            ExperimentRun.generation_id,
            ExperimentRun.fault.label("fault_spec"),
            ExperimentRun.strategy,
            ExperimentRun.repeat_index,
            ExperimentRun.seed,
            ExperimentRun.status,
            ExperimentRun.tier,
            ExperimentRun.attempts,
            ExperimentRun.duration_s,
            ExperimentRun.baseline_duration_s,
            model.c.model_time_s,
            ExperimentRun.output_tokens,
            ExperimentRun.final_tokens,
            ExperimentRun.wasted_output_tokens,
            ExperimentRun.error,
            ExperimentRun.outcome,
            ExperimentRun.delivered_chars,
            ExperimentRun.config,
            ExperimentRun.versions,
        )
        .outerjoin(model, model.c.generation_id == ExperimentRun.generation_id)
        .where(ExperimentRun.experiment_id == key)
        .order_by(ExperimentRun.repeat_index, ExperimentRun.fault, ExperimentRun.strategy)
    )
    return with_measures(read_frame(db, statement))


def with_measures(runs: pd.DataFrame) -> pd.DataFrame:
    """Add fault labels, baselines, slowdowns and token ratios to raw run rows."""
    frame = runs.copy()
    if frame.empty:
        return pd.DataFrame(columns=list(RUN_COLUMNS))
    frame["fault"] = frame["fault_spec"].map(fault_label)
    completed = frame["status"] == "completed"
    for column in ("duration_s", "baseline_duration_s", "model_time_s"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    for column, default in (("config", None), ("versions", None), ("outcome", None)):
        if column not in frame:
            frame[column] = default
    if "delivered_chars" not in frame:
        frame["delivered_chars"] = np.nan
    frame["kind"] = frame["config"].map(_kind)
    # A contender run has no generation: all of its time is the model's (two requests).
    contender = frame["kind"] == "contender"
    frame.loc[contender, "model_time_s"] = frame.loc[contender, "duration_s"]
    clean = frame[(frame["fault_spec"] == BASELINE_FAULT) & completed]
    reference = clean[clean["kind"] == "strategy"].groupby("seed")["model_time_s"].median()
    per_seed = reference.combine_first(clean.groupby("seed")["model_time_s"].median())
    own = clean.groupby(["seed", "strategy"])["model_time_s"].median().rename("own_baseline")
    paired = frame.join(own, on=["seed", "strategy"])["own_baseline"]
    paired[contender] = float("nan")  # a contender is measured against planner's reference
    frame["baseline_model_time_s"] = paired.fillna(frame["seed"].map(per_seed)).astype(float)
    frame["slowdown"] = _ratio(frame["model_time_s"], frame["baseline_model_time_s"], completed)
    frame["wall_slowdown"] = _ratio(frame["duration_s"], frame["baseline_duration_s"], completed)
    final = pd.to_numeric(frame["final_tokens"], errors="coerce")
    output = pd.to_numeric(frame["output_tokens"], errors="coerce")
    frame["token_ratio"] = _ratio(output, final, completed)
    return frame[list(RUN_COLUMNS)]


def _kind(config: Any) -> str:
    if isinstance(config, str):
        config = json.loads(config)
    return str(config.get("kind", "strategy")) if isinstance(config, dict) else "strategy"


def _ratio(numerator: pd.Series, denominator: pd.Series, keep: pd.Series) -> pd.Series:
    return (numerator / denominator.where(denominator > 0)).where(keep).astype(float)


def _tiers(series: pd.Series) -> str:
    counts = series.fillna("none").value_counts()
    return ", ".join(f"{tier} {count}" for tier, count in sorted(counts.items()))


def summarize(runs: pd.DataFrame) -> pd.DataFrame:
    """Per strategy × fault: success rate, median/p95 slowdown, token ratio, tiers."""
    if runs.empty:
        return pd.DataFrame(columns=list(SUMMARY_COLUMNS))
    finished = runs[~runs["status"].isin(["pending", "running", "cancelled"])]
    oracle = oracle_runs(finished)
    rows: list[dict[str, Any]] = []
    for (strategy, fault), group in finished.groupby(["strategy", "fault"], sort=False):
        done = group[group["status"] == "completed"]
        slowdown = done["slowdown"].dropna()
        final = done["final_tokens"].sum()
        success = wilson_interval(len(done), len(group))
        rows.append(
            {
                "strategy": strategy,
                "fault": fault,
                "runs": len(group),
                "completed": len(done),
                "success_rate": len(done) / len(group),
                "success_low": success.low,
                "success_high": success.high,
                "outcomes": _outcomes(group),
                "median_slowdown": float(slowdown.median()) if len(slowdown) else np.nan,
                "p95_slowdown": float(slowdown.quantile(0.95)) if len(slowdown) else np.nan,
                "token_ratio": float(done["output_tokens"].sum() / final) if final else np.nan,
                "mean_attempts": float(group["attempts"].mean()),
                # a contender has no tiers (the judge's outcomes say how its runs ended)
                "tiers": "" if (group["kind"] == "contender").all() else _tiers(group["tier"]),
                **distance_to_oracle(done, oracle),
            }
        )
    table = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    return table.sort_values(["fault", "strategy"], key=_baseline_last).reset_index(drop=True)


def format_success(row: Any) -> str:
    """A summary row's success as every front end prints a rate (`stats.format_rate`):
    `67% (2/3, 95% CI 21–94%)`."""
    return rate_text(row.completed, row.runs, row.success_rate, row.success_low, row.success_high)


def figure_text(value: Any, template: str) -> str:
    """A figure as text; a missing one is a dash, never the word None or nan."""
    return "—" if value is None or pd.isna(value) else template.format(value)


def _versus(median: Any, low: Any, high: Any) -> str:
    if median is None or pd.isna(median):
        return "—"
    bounds = "" if low is None or pd.isna(low) else f" [{low:.3f}–{high:.3f}]"
    return f"×{median:.3f}{bounds}"


SHOWN_SUMMARY_COLUMNS = (
    "strategy",
    "fault",
    "success",
    "outcomes",
    "median slowdown",
    "p95 slowdown",
    "output ÷ final tokens",
    "attempts",
    "tiers",
    "vs oracle time",
    "vs oracle tokens",
)


def shown_summary(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary as a page shows it: words for column names, every figure as text (n and
    the 95% interval inside the success, the distance to the oracle with its interval)."""
    rows = [
        {
            "strategy": row.strategy,
            "fault": row.fault,
            "success": format_success(row),
            "outcomes": row.outcomes or "",
            "median slowdown": figure_text(row.median_slowdown, "×{:.2f}"),
            "p95 slowdown": figure_text(row.p95_slowdown, "×{:.2f}"),
            "output ÷ final tokens": figure_text(row.token_ratio, "{:.2f}"),
            "attempts": figure_text(row.mean_attempts, "{:.1f}"),
            "tiers": row.tiers or "",
            "vs oracle time": _versus(
                row.oracle_time_ratio, row.oracle_time_low, row.oracle_time_high
            ),
            "vs oracle tokens": _versus(
                row.oracle_tokens_ratio, row.oracle_tokens_low, row.oracle_tokens_high
            ),
        }
        for row in summary.itertuples(index=False)
    ]
    return pd.DataFrame(rows, columns=list(SHOWN_SUMMARY_COLUMNS))


def _outcomes(group: pd.DataFrame) -> str:
    """How the runs that did not succeed ended, as the judge says (`raised 2, silently
    truncated 1`); a run that was never judged (it broke) counts by its status."""
    failed = group[group["status"] != "completed"]
    labels = [
        Outcome(outcome).label if isinstance(outcome, str) else str(status)
        for outcome, status in zip(failed["outcome"], failed["status"], strict=True)
    ]
    return ", ".join(
        f"{label} {count}" for label, count in sorted(pd.Series(labels).value_counts().items())
    )


def _baseline_last(column: pd.Series) -> pd.Series:
    if column.name == "fault":
        return column.map(lambda f: (f == BASELINE_FAULT, f))
    return column


def experiment_summary(db: Database, experiment_id: uuid.UUID | str) -> pd.DataFrame:
    return summarize(experiment_runs(db, experiment_id))


def tier_distribution(runs: pd.DataFrame) -> pd.DataFrame:
    """strategy, fault, tier, count: for stacked bars."""
    if runs.empty:
        return pd.DataFrame(columns=["strategy", "fault", "tier", "count"])
    frame = runs.assign(tier=runs["tier"].fillna("none"))
    return frame.groupby(["strategy", "fault", "tier"]).size().rename("count").reset_index()


def rank_strategies(runs: pd.DataFrame) -> pd.DataFrame:
    """Strategies and contenders over the faulty runs (the baseline and the oracle
    excluded), best first.

    Best = highest success rate; ties go to the lower median slowdown, then to the lower
    token ratio. Columns: strategy, runs, success_rate, median_slowdown, token_ratio.
    """
    faulty = runs[
        (runs["fault"] != BASELINE_FAULT)
        & (runs["strategy"] != ORACLE)  # the floor, not a choice
        & ~runs["status"].isin(["pending", "running", "cancelled"])
    ]
    if faulty.empty:
        return pd.DataFrame(
            columns=["strategy", "runs", "success_rate", "median_slowdown", "token_ratio"]
        )
    rows = []
    for strategy, group in faulty.groupby("strategy"):
        done = group[group["status"] == "completed"]
        final = done["final_tokens"].sum()
        rows.append(
            {
                "strategy": strategy,
                "runs": len(group),
                "success_rate": len(done) / len(group),
                "median_slowdown": float(done["slowdown"].median()) if len(done) else np.nan,
                "token_ratio": float(done["output_tokens"].sum() / final) if final else np.nan,
            }
        )
    table = pd.DataFrame(rows)
    return table.sort_values(
        ["success_rate", "median_slowdown", "token_ratio"],
        ascending=[False, True, True],
        na_position="last",
    ).reset_index(drop=True)


def generations_with_failures(db: Database, *, limit: int = 20) -> pd.DataFrame:
    """Recent generations with at least one failed attempt: the ones worth replaying."""
    failed = (
        select(GenerationAttempt.generation_id, func.count().label("failed_attempts"))
        .where(GenerationAttempt.error_type.is_not(None))
        .group_by(GenerationAttempt.generation_id)
        .subquery()
    )
    statement = (
        select(
            Generation.id.label("generation_id"),
            Generation.created_at,
            Generation.strategy,
            Generation.fault_spec,
            Generation.status,
            Generation.tier,
            Generation.attempts,
            failed.c.failed_attempts,
            Generation.duration_s,
        )
        .join(failed, failed.c.generation_id == Generation.id)
        .order_by(Generation.created_at.desc())
        .limit(limit)
    )
    return read_frame(db, statement)


def failure_table(db: Database, generation_id: uuid.UUID | str) -> pd.DataFrame:
    """Where each failed attempt died, and the simulator fault that would replay it."""
    points = failure_points(db, generation_id)
    rows = [{**p.to_dict(), "replay_fault": fault_for(p)} for p in points]
    return pd.DataFrame(rows, columns=[*FAILURE_COLUMNS, "replay_fault"])


FAILURE_COLUMNS = (
    "attempt",
    "request_number",
    "scope",
    "stage",
    "kind",
    "error_type",
    "error_message",
    "resume_from_char",
    "chars",
    "answer_chars",
    "fraction",
    "died_after_ms",
    "stall_ms",
    "http_status",
)
