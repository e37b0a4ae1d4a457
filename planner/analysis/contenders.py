"""Contenders side by side: distance to the oracle, the best per fault, and the full table.

planner's strategies, other libraries' recovery paths and the oracle floor run in one
experiment under the same seeds and fault draws (`planner.experiments`), so they compare
run for run:

- `distance_to_oracle`: a cell's median time and tokens ÷ the oracle's run of the same
  fault, seed and repeat (both complete), each with its 95% order-statistic interval;
- `best_per_fault`: the best contender of each faulty cell of a summary (the oracle is the
  floor, not a choice);
- `comparison_table(runs)`: one row per contender × fault with n, the complete rate and its
  Wilson interval, and over complete runs the median tokens ÷ final and time ÷ fault-free,
  each with its quartiles and the 95% interval of its median, the distance to the oracle,
  the median requests and how the other runs ended. This is the table `make bench` prints.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

from planner.contenders import ORACLE, Outcome
from planner.contenders.stats import describe, median_interval, wilson_interval
from planner.experiment_judging import BASELINE_FAULT

UNFINISHED = ("pending", "running", "cancelled")

_PAIR = ["fault_spec", "seed", "repeat_index"]


def oracle_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """The oracle's complete runs, keyed by what pairs a run with one: fault, seed, repeat."""
    done = runs[(runs["strategy"] == ORACLE) & (runs["status"] == "completed")]
    return done[[*_PAIR, "model_time_s", "output_tokens"]]


def distance_to_oracle(done: pd.DataFrame, oracle: pd.DataFrame) -> dict[str, float]:
    """Median time and tokens ÷ the oracle's, over runs paired with an oracle run of the
    same fault, seed and repeat (both complete), each with its 95% order-statistic interval
    (none below 6 pairs)."""
    pairs = done.merge(oracle, on=_PAIR, suffixes=("", "_oracle"), how="inner")
    distance: dict[str, float] = {"oracle_pairs": float(len(pairs))}
    for name, column in (("time", "model_time_s"), ("tokens", "output_tokens")):
        ratios = pairs[column] / pairs[f"{column}_oracle"].where(pairs[f"{column}_oracle"] > 0)
        values = [float(v) for v in ratios.dropna()]
        interval = median_interval(values)
        distance[f"oracle_{name}_ratio"] = float(np.median(values)) if values else np.nan
        distance[f"oracle_{name}_low"] = interval.low if interval else np.nan
        distance[f"oracle_{name}_high"] = interval.high if interval else np.nan
    return distance


def best_per_fault(summary: pd.DataFrame) -> pd.DataFrame:
    """The best contender (strategy or library, the oracle excluded: it is the floor, not a
    choice) for each faulty cell of a summary: the highest success rate, ties to the lower
    median slowdown, then to the lower token ratio. Keeps the summary's columns."""
    faulty = summary[(summary["fault"] != BASELINE_FAULT) & (summary["strategy"] != ORACLE)]
    ordered = faulty.sort_values(
        ["fault", "success_rate", "median_slowdown", "token_ratio"],
        ascending=[True, False, True, True],
        na_position="last",
    )
    return ordered.groupby("fault", sort=False).head(1).reset_index(drop=True)


def _measure(values: list[float], name: str) -> dict[str, float]:
    summary = describe(values)
    interval = median_interval(values)
    nan = float("nan")
    return {
        f"{name}_median": summary.median if summary else nan,
        f"{name}_q1": summary.q1 if summary else nan,
        f"{name}_q3": summary.q3 if summary else nan,
        f"{name}_low": interval.low if interval else nan,
        f"{name}_high": interval.high if interval else nan,
    }


def _error_kind(error: Any) -> str:
    """`httpx2.RemoteProtocolError` out of `masterplan: httpx2.RemoteProtocolError: ...`."""
    parts = str(error).split(": ")
    return parts[1] if len(parts) > 2 else parts[0][:60]


def _note(group: pd.DataFrame) -> str:
    failed = group[group["status"] != "completed"]
    if failed.empty:
        return ""
    counts: Counter[str] = Counter()
    for outcome, error in zip(failed["outcome"], failed["error"], strict=True):
        if outcome == Outcome.FAILED_RAISED and isinstance(error, str):
            counts[f"raises {_error_kind(error)}"] += 1
        elif isinstance(outcome, str):
            counts[Outcome(outcome).label] += 1
        else:
            counts["not judged"] += 1
    return ", ".join(f"{what} {k}/{len(group)}" for what, k in counts.most_common())


def comparison_table(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per contender × fault of an experiment's runs (`experiment_runs`)."""
    finished = runs[~runs["status"].isin(UNFINISHED)]
    oracle = oracle_runs(finished)
    rows = []
    for (strategy, fault), group in finished.groupby(["strategy", "fault"], sort=False):
        done = group[group["status"] == "completed"]
        success = wilson_interval(len(done), len(group))
        rows.append(
            {
                "strategy": strategy,
                "fault": fault,
                "runs": len(group),
                "completed": len(done),
                "success_low": success.low,
                "success_high": success.high,
                **_measure([float(v) for v in done["token_ratio"].dropna()], "tokens"),
                **_measure([float(v) for v in done["slowdown"].dropna()], "time"),
                **distance_to_oracle(done, oracle),
                "requests": float(done["attempts"].median()) if len(done) else np.nan,
                "note": _note(group),
            }
        )
    return pd.DataFrame(rows)


__all__ = [
    "ORACLE",
    "best_per_fault",
    "comparison_table",
    "distance_to_oracle",
    "oracle_runs",
]
