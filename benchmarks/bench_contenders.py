"""planner against what its users would otherwise use: the issue-18 table, made by planner itself.

The table comes out of `planner experiment` (`planner.experiments.run_experiment` on a fresh
DuckDB file, summarised by `planner.analysis.contenders.comparison_table`): planner's `resume`
strategy, every installed contender (`planner experiment --help` lists them) and the oracle
floor, each run as the experiment runs it (planner's strategy as a whole recorded
generation, a contender as the generation's two requests through its library) under the
same seeds and fault draws, on a model that accepts an assistant prefill and on the default
model, which refuses it, on a small plan (DESCRIPTION). Faults: one dropped connection at
10%, 50% and 90% of the MasterPlan answer (`on_scope: masterplan`, first request),
DROP_REPEATS seeds each, and the `flaky` profile over FLAKY_REPEATS generations, whose
fault-free baselines are planner's and the oracle's only (every library's own fault-free
cost is measured with the drops). Each cell prints

- complete k/n with the 95% Wilson interval (one rule: the final text equals the fault-free
  answer; silently truncated and duplicated answers are failures, named in the note);
- over complete runs only: median tokens ÷ final and time ÷ fault-free (model time ÷ the
  median fault-free model time of the same seed), each with its quartiles and the 95%
  order-statistic interval of the median; the distance to the oracle (median time ÷ the
  oracle's run of the same fault and seed, with its interval); requests; a note;
- for planner's resume, whether its targets (tokens ÷ final < 1.02, time ÷ fault-free < 1.10)
  are met, judged only by the upper bound of the 95% interval.

The simulator paces answers at SPEED × a real model's rate; waits a library lets planner hand
it are scaled alike, waits a library keeps to itself (the SDK's backoff without retry-after,
LiteLLM's retry jitter) are real seconds and so weigh SPEED times more here than against the
real API. Client CPU per library is not measured here: bench_llm states planner's against the
raw SDK event loop.

`python -m benchmarks contenders` runs it; PLANNER_BENCH_QUICK=1 makes it smaller;
PLANNER_BENCH_CONTENDERS_FROM=<its DuckDB file> prints the tables of a run already made.
"""

from __future__ import annotations

import json
import logging
import math
import os
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

QUICK = os.environ.get("PLANNER_BENCH_QUICK") == "1"
SPEED = 200.0
DESCRIPTION = "A notes app."  # a small plan (about 5,000 tokens): LiteLLM is CPU-bound
DROP_REPEATS = 6  # the fewest seeds whose medians have a 95% interval
FLAKY_REPEATS = int(os.environ.get("PLANNER_BENCH_FLAKY", "10" if QUICK else "30"))
# only to try the bench out on fewer contenders; the table is every installed one
ONLY = [n for n in os.environ.get("PLANNER_BENCH_CONTENDERS", "").split(",") if n]
MODELS = (("claude-haiku-4-5", "prefill model"), ("claude-sonnet-5-5", "no-prefill model"))
TOKEN_TARGET = 1.02
TIME_TARGET = 1.10
SEED = 18


def _drop(at_fraction: float) -> str:
    return json.dumps(
        [
            {
                "type": "reset",
                "at_fraction": at_fraction,
                "on_requests": [1],
                "on_scope": "masterplan",
            }
        ]
    )


DROPS = {f"one drop at {int(at * 100)}%": _drop(at) for at in (0.1, 0.5, 0.9)}


def _interval(low: float, high: float) -> str:
    return "[n<6]" if math.isnan(low) else f"[{low:.3f}-{high:.3f}]"


def _measure(row: Any, name: str) -> str:
    median = getattr(row, f"{name}_median")
    if math.isnan(median):
        return "—"
    q1, q3 = getattr(row, f"{name}_q1"), getattr(row, f"{name}_q3")
    bounds = _interval(getattr(row, f"{name}_low"), getattr(row, f"{name}_high"))
    return f"{median:.3f} ({q1:.3f}-{q3:.3f}) {bounds}"


def _targets(row: Any) -> str:
    from planner.contenders.stats import Interval, met

    if row.strategy != "resume" or math.isnan(row.tokens_median):
        return ""
    verdicts = []
    for name, target in (("tokens", TOKEN_TARGET), ("time", TIME_TARGET)):
        low, high = getattr(row, f"{name}_low"), getattr(row, f"{name}_high")
        interval = None if math.isnan(low) else Interval(low, high)
        verdicts.append(f"{name}<{target}: {'met' if met(interval, target) else 'NOT met'}")
    return "; ".join(verdicts)


def print_table(title: str, table: pd.DataFrame, order: list[str]) -> None:
    table = table.assign(rank=table["strategy"].map(order.index)).sort_values("rank")
    print(f"\n{title}")
    print(
        f"  {'contender':<15} {'complete':>8} {'95%':>9}  {'tokens ÷ final (IQR) [95%]':<32} "
        f"{'time ÷ fault-free (IQR) [95%]':<32} {'÷ oracle time [95%]':<21} {'req':>4}  "
        "note; targets"
    )
    for row in table.itertuples(index=False):
        versus = (
            "—"
            if math.isnan(row.oracle_time_ratio)
            else f"{row.oracle_time_ratio:.3f} "
            f"{_interval(row.oracle_time_low, row.oracle_time_high)}"
        )
        requests = "—" if math.isnan(row.requests) else f"{row.requests:g}"
        note = "; ".join(part for part in (row.note, _targets(row)) if part)
        print(
            f"  {row.strategy:<15} {row.completed:>3}/{row.runs:<4} "
            f"{row.success_low:.2f}-{row.success_high:.2f}  {_measure(row, 'tokens'):<32} "
            f"{_measure(row, 'time'):<32} {versus:<21} {requests:>4}  {note}"
        )


def _experiment(
    db: Any,
    faults: tuple[str, ...],
    repeats: int,
    model: str,
    names: list[str],
    baselines: tuple[str, ...] = (),
) -> Any:
    from planner.experiments import ExperimentConfig, run_experiment

    config = ExperimentConfig(
        faults=faults,
        strategies=tuple(names),
        repeats=repeats,
        speed=SPEED,
        seed=SEED,
        model=model,
        description=DESCRIPTION,
        baseline_strategies=baselines,
        name=f"bench_contenders {model} {'flaky' if faults == ('flaky',) else 'drops'}",
    )
    return run_experiment(db, config).experiment_id


def print_model(db: Any, model: str, kind: str, drop_id: Any, flaky_id: Any) -> None:
    """The tables of one model, from its two stored experiments."""
    from planner.analysis.contenders import comparison_table
    from planner.analysis.experiments import experiment_runs
    from planner.contenders import CONTENDERS

    drops, flaky = experiment_runs(db, drop_id), experiment_runs(db, flaky_id)
    names = [n for n in ("resume", *CONTENDERS) if n in set(drops.strategy)]
    drop_table, flaky_table = comparison_table(drops), comparison_table(flaky)
    complete = drops[(drops.fault == "none") & (drops.status == "completed")]
    print(
        f"\n== {model} ({kind}): answers of about {complete.final_tokens.median():,.0f} "
        f"tokens (discovery + MasterPlan), {len(drops) + len(flaky)} runs"
    )
    print_table(
        f"no fault (each library's own cost), {kind}", drop_table[drop_table.fault == "none"], names
    )
    for title, spec in DROPS.items():
        label = drops.loc[drops.fault_spec == spec, "fault"].iloc[0]
        print_table(f"{title}, {kind}", drop_table[drop_table.fault == label], names)
    generations = flaky[flaky.fault == "flaky"].seed.nunique()
    print_table(
        f"flaky ({generations} generations), {kind}",
        flaky_table[flaky_table.fault == "flaky"],
        names,
    )


def print_stored(path: str) -> None:
    """The tables of a bench already run (its DuckDB file), with this checkout's analysis."""
    from planner.analysis.experiments import list_experiments
    from planner.db import Database

    db = Database(f"duckdb:///{path}")
    try:
        stored = list_experiments(db)
        for model, kind in MODELS:
            mine = stored[stored["name"].str.startswith(f"bench_contenders {model}")]
            flaky = mine["faults"].map(lambda faults: list(faults) == ["flaky"])
            drop_id = mine.loc[~flaky, "experiment_id"].iloc[0]
            print_model(db, model, kind, drop_id, mine.loc[flaky, "experiment_id"].iloc[0])
    finally:
        db.close()


def main() -> None:
    logging.getLogger("LiteLLM Router").setLevel(logging.CRITICAL)
    logging.getLogger("LiteLLM").setLevel(logging.CRITICAL)
    warnings.simplefilter("ignore")
    if stored := os.environ.get("PLANNER_BENCH_CONTENDERS_FROM"):
        print_stored(stored)
        return
    home = Path(tempfile.mkdtemp(prefix="planner-bench-contenders-"))
    os.environ["PLANNER_HOME"] = str(home)
    for name in ("PLANNER_DATABASE_URL", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"):
        os.environ.pop(name, None)

    from planner.config import reset_settings
    from planner.contenders import CONTENDERS, describe, get_contender, installed
    from planner.db import Database

    reset_settings()
    names = ["resume", *(name for name in CONTENDERS if installed(name))]
    names = [name for name in names if not ONLY or name in ONLY]
    missing = [name for name in CONTENDERS if not installed(name)]
    print(
        f"planner experiment at speed {SPEED:g}, runs interleaved per repeat, the same seeds "
        f"and fault draws for every contender; stored in {home / 'bench.duckdb'}"
    )
    for name in names[1:]:
        versions = ", ".join(f"{lib} {v}" for lib, v in get_contender(name).versions().items())
        print(f"  {name} ({versions}): {describe()[name]}")
    if missing:
        print(f"  not installed (pip install 'planner[contenders]'): {', '.join(missing)}")
    db = Database(f"duckdb:///{home / 'bench.duckdb'}")
    db.ensure_schema()
    try:
        for model, kind in MODELS:
            started = time.perf_counter()
            drop_id = _experiment(db, tuple(DROPS.values()), DROP_REPEATS, model, names)
            # each library's own fault-free cost is in the drop experiment already: here
            # planner's and the oracle's fault-free runs judge the flaky ones
            baselines = tuple(name for name in ("resume", "oracle") if name in names)
            flaky_id = _experiment(db, ("flaky",), FLAKY_REPEATS, model, names, baselines)
            print_model(db, model, kind, drop_id, flaky_id)
            print(f"   ({model}: {time.perf_counter() - started:.0f} s)")
    finally:
        db.close()


if __name__ == "__main__":
    main()
