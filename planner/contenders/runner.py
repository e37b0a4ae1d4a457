"""Fair, interleaved comparisons: every contender under the same faults, seeds and draws.

`compare(contenders, faults, seeds, repeats, request=..., base_url=...)` runs each
(contender × fault) cell once per seed and round, and returns one `Row` per run:

- Same seeds, same draws. A run of seed s sends `x-planner-seed: s` and a run key whose
  scope is the same for every contender (`<fresh run id>:<SCOPE>`); the simulator draws
  faults and answers from the seed, the scope and the request number only
  (`planner.protocol`), so every contender meets the same failures at the same places of
  the same answer, and each run's requests are numbered from 1.
- Interleaved, shuffled per round. A round runs every cell for every seed once, plus the
  fault-free baseline of each seed, in an order shuffled by a generator seeded with
  (`shuffle_seed`, round): machine load drifts over all cells alike, and the same call gives
  the same order.
- One run at a time, so no run slows another and requests read off the simulator's stats
  are exact.
- The baseline of a seed is the reference client (the bare SDK) without faults, in every
  round: its text is the answer every run of that seed is judged against (all its runs must
  agree), its output tokens are the final tokens, and its median time is the fault-free time.

A row's `token_ratio` is everything the run generated ÷ the final tokens (1.0: nothing
generated twice) and `time_ratio` its wall time ÷ the fault-free time; both are kept for
every run, and summaries use complete runs only. Waits a library lets planner hand it run in
the simulator's time: `sleep(s)` waits s ÷ speed (nothing at speed 0).
"""

from __future__ import annotations

import random
import statistics
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from planner.contenders.base import Contender, ContenderResult, Endpoint
from planner.contenders.errors import BadComparison, BaselineFailed
from planner.contenders.judge import Outcome, judge
from planner.contenders.sdk_stream import SdkStream
from planner.protocol import FAULTS_HEADER, RUN_HEADER, SEED_HEADER, SPEED_HEADER, RunKey
from planner.sim import FaultSpec, parse_fault_spec

SCOPE = "answer"
BASELINE = "none"


@dataclass(frozen=True)
class Row:
    round: int
    order: int
    """The run's place in the whole sequence (0-based)."""
    contender: str
    fault: str
    seed: int
    model: str
    outcome: Outcome
    result: ContenderResult
    final_tokens: int
    final_chars: int
    fault_free_s: float

    @property
    def token_ratio(self) -> float:
        return self.result.output_tokens / self.final_tokens

    @property
    def time_ratio(self) -> float:
        return self.result.duration_s / self.fault_free_s

    @property
    def delivered_ratio(self) -> float:
        """Characters handed to the consumer ÷ the answer's: 2.0 is the answer seen twice."""
        return self.result.delivered_chars / self.final_chars

    def as_dict(self) -> dict[str, Any]:
        """A flat record for storage or a DataFrame."""
        result = self.result
        return {
            "round": self.round,
            "order": self.order,
            "contender": self.contender,
            "fault": self.fault,
            "seed": self.seed,
            "model": self.model,
            "outcome": self.outcome.value,
            "claimed_success": result.claimed_success,
            "error_type": result.error_type,
            "error_message": result.error_message,
            "output_tokens": result.output_tokens,
            "tokens_estimated": result.tokens_estimated,
            "final_tokens": self.final_tokens,
            "token_ratio": self.token_ratio,
            "duration_s": result.duration_s,
            "fault_free_s": self.fault_free_s,
            "time_ratio": self.time_ratio,
            "requests": result.requests,
            "delivered_ratio": self.delivered_ratio,
            "versions": dict(result.versions),
            "config": dict(result.config),
        }


@dataclass(frozen=True)
class Cell:
    contender: Contender
    fault: str
    baseline: bool = False


@dataclass(frozen=True)
class Planned:
    round: int
    cell: Cell
    seed: int


def simulated_sleep(speed: float) -> Callable[[float], None]:
    """A sleep that waits simulated seconds at `speed` (no wait at all at 0 or infinity)."""
    if speed <= 0 or speed == float("inf"):
        return lambda seconds: None
    return lambda seconds: time.sleep(seconds / speed)


def plan_order(
    cells: Sequence[Cell], seeds: Sequence[int], repeats: int, shuffle_seed: int
) -> list[Planned]:
    """Every cell × seed once a round, each round shuffled by a generator seeded with the
    shuffle seed and the round."""
    order = []
    for round_index in range(repeats):
        runs = [Planned(round_index, cell, seed) for cell in cells for seed in seeds]
        random.Random(f"{shuffle_seed}:{round_index}").shuffle(runs)
        order.extend(runs)
    return order


def _headers(fault: str, seed: int, speed: float) -> dict[str, str]:
    return {
        FAULTS_HEADER: fault,
        RUN_HEADER: str(RunKey(uuid.uuid4().hex, SCOPE)),
        SEED_HEADER: str(seed),
        SPEED_HEADER: repr(float(speed)),
    }


def compare(
    contenders: Sequence[Contender],
    faults: Sequence[str | FaultSpec],
    seeds: Sequence[int],
    repeats: int,
    *,
    request: Mapping[str, Any],
    base_url: str,
    api_key: str = "x",
    speed: float = 0.0,
    shuffle_seed: int = 0,
    reference: Contender | None = None,
    on_run: Callable[[int, int, Planned], None] | None = None,
) -> list[Row]:
    """Every contender × fault, for every seed, `repeats` rounds; one row per run."""
    if repeats < 1 or not seeds:
        raise BadComparison("a comparison needs at least one seed and one round")
    specs = [parse_fault_spec(fault).text for fault in faults]
    cells = [Cell(contender, spec) for contender in contenders for spec in specs]
    cells.append(Cell(reference or SdkStream(), BASELINE, baseline=True))
    order = plan_order(cells, seeds, repeats, shuffle_seed)
    sleep = simulated_sleep(speed)
    results: list[tuple[Planned, ContenderResult]] = []
    for done, planned in enumerate(order):
        if on_run is not None:
            on_run(done, len(order), planned)
        headers = _headers(planned.cell.fault, planned.seed, speed)
        endpoint = Endpoint(base_url, api_key, headers, sleep)
        results.append((planned, planned.cell.contender.run(request, endpoint)))
    baselines = _baselines(results)
    rows = []
    for order_index, (planned, result) in enumerate(results):
        if planned.cell.baseline:
            continue
        text, tokens, fault_free_s = baselines[planned.seed]
        rows.append(
            Row(
                round=planned.round,
                order=order_index,
                contender=planned.cell.contender.name,
                fault=planned.cell.fault,
                seed=planned.seed,
                model=str(request["model"]),
                outcome=judge(result.text, text, claimed_success=result.claimed_success),
                result=result,
                final_tokens=tokens,
                final_chars=len(text),
                fault_free_s=fault_free_s,
            )
        )
    return rows


def _baselines(
    results: Sequence[tuple[Planned, ContenderResult]],
) -> dict[int, tuple[str, int, float]]:
    """Per seed: the fault-free answer, its output tokens, and the median fault-free time."""
    by_seed: dict[int, list[ContenderResult]] = {}
    for planned, result in results:
        if planned.cell.baseline:
            by_seed.setdefault(planned.seed, []).append(result)
    baselines = {}
    for seed, runs in by_seed.items():
        failed = [r for r in runs if not r.claimed_success or r.tokens_estimated]
        if failed:
            reason = failed[0].error_message or "its stream ended without a stop reason"
            raise BaselineFailed(f"the fault-free baseline of seed {seed} failed: {reason}")
        if len({r.text for r in runs}) != 1:
            raise BaselineFailed(f"the fault-free answers of seed {seed} differ between runs")
        times = [r.duration_s for r in runs]
        baselines[seed] = (runs[0].text, runs[0].output_tokens, statistics.median(times))
    return baselines


__all__ = [
    "BASELINE",
    "SCOPE",
    "Cell",
    "Planned",
    "Row",
    "compare",
    "plan_order",
    "simulated_sleep",
]
