"""A comparison's rows folded into one line per cell: rate, costs, spread, n, intervals.

One `CellSummary` per (contender, fault, model): how many runs completed, with the Wilson
interval of that rate; what else happened (raised, silently truncated, duplicated,
corrupted); and, over the complete runs only (a failed run has no comparable cost), the
median tokens ÷ final, time ÷ fault-free and requests, each with its quartiles, n and the
order-statistic interval of its median (`planner.contenders.stats`). Versions and the
configuration come from the runs (one contender, one configuration).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from planner.contenders.judge import Outcome
from planner.contenders.runner import Row
from planner.contenders.stats import Interval, Rate, Summary, describe, median_interval, rate


@dataclass(frozen=True)
class Measure:
    summary: Summary | None
    interval: Interval | None


@dataclass(frozen=True)
class CellSummary:
    contender: str
    fault: str
    model: str
    complete: Rate
    outcomes: Mapping[Outcome, int]
    token_ratio: Measure
    time_ratio: Measure
    requests: Measure
    delivered_ratio: Measure
    errors: Mapping[str, int]
    versions: Mapping[str, str]
    config: Mapping[str, Any]

    @property
    def n(self) -> int:
        return self.complete.n


def _measure(values: Sequence[float]) -> Measure:
    return Measure(describe(values), median_interval(values))


def summarize_cell(rows: Sequence[Row]) -> CellSummary:
    first = rows[0]
    done = [row for row in rows if row.outcome.success]
    requests = [float(row.result.requests) for row in done if row.result.requests is not None]
    return CellSummary(
        contender=first.contender,
        fault=first.fault,
        model=first.model,
        complete=rate(len(done), len(rows)),
        outcomes=Counter(row.outcome for row in rows),
        token_ratio=_measure([row.token_ratio for row in done]),
        time_ratio=_measure([row.time_ratio for row in done]),
        requests=_measure(requests),
        delivered_ratio=_measure([row.delivered_ratio for row in done]),
        errors=Counter(row.result.error_type for row in rows if row.result.error_type),
        versions=dict(first.result.versions),
        config=dict(first.result.config),
    )


def summarize(rows: Iterable[Row]) -> list[CellSummary]:
    """One summary per (contender, fault, model), in the order cells first appear."""
    cells: dict[tuple[str, str, str], list[Row]] = {}
    for row in rows:
        cells.setdefault((row.contender, row.fault, row.model), []).append(row)
    return [summarize_cell(group) for group in cells.values()]


__all__ = ["CellSummary", "Measure", "summarize", "summarize_cell"]
