"""planner against what its users would otherwise use: the issue-18 table, measured here.

Every installed contender (`planner.contenders`), planner's `resume` strategy and the oracle
floor run the same MasterPlan request on the same simulator under the same faults and seeds,
interleaved and shuffled per round (`planner.contenders.compare`): one dropped connection at
10%, 50% and 90% of the answer, and the `flaky` profile, on a model that accepts an assistant
prefill and on the default model, which refuses it. Each cell prints

- complete k/n with the 95% Wilson interval (judged by one rule: the final text equals the
  fault-free answer; silently truncated and duplicated answers are failures);
- over complete runs only: median tokens ÷ final (everything generated ÷ the answer's
  tokens) and time ÷ fault-free (wall time ÷ the reference client's fault-free time of the
  same seed), each with its quartiles and the 95% order-statistic interval of the median;
  the time's distance to the oracle; requests; and a note (the error, "silently truncated",
  or how many times the consumer was handed the text);
- whether the targets planner holds its own recovery to (tokens ÷ final <= 1.02, time ÷
  fault-free <= 1.10) are met, judged only by the upper bound of the 95% interval.

The simulator paces the answer at SPEED × a real model's rate; waits a library lets planner
hand it (tenacity's, planner's) are scaled alike, waits a library keeps to itself (the SDK's
backoff without retry-after, LiteLLM's retry jitter) are real seconds and so weigh SPEED
times more here than against the real API. Requests are counted at the transport, or from the
simulator's stats for libraries that take no HTTP client (runs never overlap).

`python -m benchmarks contenders` runs it; PLANNER_BENCH_QUICK=1 makes it smaller.
"""

from __future__ import annotations

import json
import logging
import os
import time
import warnings
from collections.abc import Sequence
from typing import Any

from planner.contenders import (
    CONTENDERS,
    CellSummary,
    PlannerStrategy,
    compare,
    describe,
    get_contender,
    installed,
    summarize,
)
from planner.contenders.stats import met
from planner.contenders.summary import Measure
from planner.plan.model import PLANNING_MODEL
from planner.plan.prompts import masterplan_request
from planner.plan.schema import Discovery
from planner.sim import Simulator, parse_fault_spec

QUICK = os.environ.get("PLANNER_BENCH_QUICK") == "1"
SPEED = 60.0
TASKS = 12 if QUICK else 24
DROP_SEEDS = (1, 2, 3)
DROP_ROUNDS = 1 if QUICK else 2  # 3 seeds x 2 rounds = 6 runs: the least with a 95% interval
FLAKY_SEEDS = tuple(range(100, 106 if QUICK else 112))
MODELS = (("claude-haiku-4-5", "prefill model"), ("claude-sonnet-5-5", "no-prefill model"))
TOKEN_TARGET = 1.02
TIME_TARGET = 1.10


def _drop(at_fraction: float) -> str:
    return parse_fault_spec(
        json.dumps([{"type": "reset", "at_fraction": at_fraction, "on_requests": [1]}])
    ).text


# title -> fault spec, in the order the tables are printed
FAULTS = {"no fault (each library's own cost)": "none"} | {
    f"one drop at {int(at * 100)}%": _drop(at) for at in (0.1, 0.5, 0.9)
}


def plan_request(model: str) -> dict[str, Any]:
    discovery = Discovery.model_validate(
        {
            "domain": "online bookshop",
            "bounded_contexts": [
                {"name": "Catalogue", "aggregates": ["Book", "Author"]},
                {"name": "Orders", "aggregates": ["Order", "Cart"]},
                {"name": "Payments", "aggregates": ["Payment", "Refund"]},
            ],
            "services": [{"name": "OrderService"}, {"name": "PaymentGateway"}],
        }
    )
    description = (
        "An online bookshop: catalogue search, shopping cart, payments by card, order "
        "tracking and an admin back office for stock and refunds."
    )
    return masterplan_request(description, discovery, TASKS, model)


def _contenders() -> list[Any]:
    chosen: list[Any] = [PlannerStrategy("resume")]
    chosen += [get_contender(name) for name in CONTENDERS if installed(name)]
    return chosen


def _measure(measure: Measure) -> str:
    summary = measure.summary
    if summary is None:
        return "—"
    interval = measure.interval
    bounds = f"[{interval.low:.3f}–{interval.high:.3f}]" if interval else "[n<6]"
    return f"{summary.median:.3f} ({summary.q1:.3f}–{summary.q3:.3f}) {bounds}"


def _note(cell: CellSummary) -> str:
    if cell.errors:
        error, count = max(cell.errors.items(), key=lambda item: item[1])
        return f"raises {error} ({count}/{cell.n})"
    others = {o.label: k for o, k in cell.outcomes.items() if not o.success}
    if others:
        return ", ".join(f"{label} {k}/{cell.n}" for label, k in others.items())
    delivered = cell.delivered_ratio.summary
    if delivered is not None and delivered.median > 1.05:
        return f"the consumer is handed {delivered.median:.2f}x the text"
    return ""


def _targets(cell: CellSummary) -> str:
    if cell.token_ratio.summary is None:
        return ""
    tokens = "met" if met(cell.token_ratio.interval, TOKEN_TARGET) else "not met"
    seconds = "met" if met(cell.time_ratio.interval, TIME_TARGET) else "not met"
    return f"tokens<={TOKEN_TARGET}: {tokens}; time<={TIME_TARGET}: {seconds}"


def print_table(title: str, cells: Sequence[CellSummary], order: Sequence[str]) -> None:
    cells = sorted(cells, key=lambda cell: order.index(cell.contender))
    oracle = next((c for c in cells if c.contender == "oracle"), None)
    floor = oracle.time_ratio.summary if oracle else None
    print(f"\n{title}")
    header = (
        f"  {'contender':<15} {'complete':>8} {'95%':>11}  {'tokens ÷ final (IQR) [95%]':<34} "
        f"{'time ÷ fault-free (IQR) [95%]':<34} {'Δ oracle':>8} {'req':>4}  note; targets"
    )
    print(header)
    for cell in cells:
        rate = cell.complete
        interval = f"{rate.interval.low:.2f}–{rate.interval.high:.2f}"
        time_summary = cell.time_ratio.summary
        distance = f"{time_summary.median - floor.median:+.3f}" if time_summary and floor else "—"
        requests = cell.requests.summary
        print(
            f"  {cell.contender:<15} {rate.successes:>3}/{rate.n:<4} {interval:>11}  "
            f"{_measure(cell.token_ratio):<34} {_measure(cell.time_ratio):<34} {distance:>8} "
            f"{(f'{requests.median:g}' if requests else '—'):>4}  "
            + "; ".join(part for part in (_note(cell), _targets(cell)) if part)
        )


def main() -> None:
    logging.getLogger("LiteLLM Router").setLevel(logging.CRITICAL)
    logging.getLogger("LiteLLM").setLevel(logging.CRITICAL)
    warnings.simplefilter("ignore")
    contenders = _contenders()
    order = [contender.name for contender in contenders]
    missing = [name for name in CONTENDERS if not installed(name)]
    print(f"speed {SPEED:g}, {TASKS}-task MasterPlan, runs interleaved and shuffled per round")
    for contender in contenders:
        versions = ", ".join(f"{name} {v}" for name, v in contender.versions().items())
        print(f"  {contender.name} ({versions}): {describe().get(contender.name, 'planner')}")
    if missing:
        print(f"  not installed (pip install 'planner[contenders]'): {', '.join(missing)}")
    with Simulator(speed=SPEED, model=PLANNING_MODEL) as sim:
        for model, kind in MODELS:
            request = plan_request(model)
            started = time.perf_counter()
            drops = compare(
                contenders,
                list(FAULTS.values()),
                DROP_SEEDS,
                DROP_ROUNDS,
                request=request,
                base_url=sim.base_url,
                speed=SPEED,
                shuffle_seed=18,
            )
            flaky = compare(
                contenders,
                ["flaky"],
                FLAKY_SEEDS,
                1,
                request=request,
                base_url=sim.base_url,
                speed=SPEED,
                shuffle_seed=18,
            )
            summaries = summarize(drops + flaky)
            print(
                f"\n== {model} ({kind}), answer {drops[0].final_tokens} tokens, "
                f"{len(drops) + len(flaky)} runs in {time.perf_counter() - started:.0f} s"
            )
            tables = {**FAULTS, f"flaky ({len(FLAKY_SEEDS)} generations)": "flaky"}
            for title, spec in tables.items():
                cells = [c for c in summaries if c.fault == spec]
                print_table(f"{title}, {kind}, speed {SPEED:g}", cells, order)


if __name__ == "__main__":
    main()
