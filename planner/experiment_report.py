"""How an experiment looks on a terminal: a live progress bar and the closing summary table."""

from __future__ import annotations

import math
import uuid
from typing import Any

import pandas as pd
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from planner.analysis.experiments import BASELINE_FAULT
from planner.experiments import RunOutcome


def _number(value: Any, template: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return template.format(value)


def _versus(median: float, low: float, high: float) -> str:
    if math.isnan(median):
        return "-"
    bounds = "" if math.isnan(low) else f" [{low:.3f}-{high:.3f}]"
    return f"{median:.3f}{bounds}"


def summary_table(summary: pd.DataFrame, *, title: str = "") -> Table:
    """One row per strategy × fault, as the experiment's closing table."""
    table = Table(
        title=title or None,
        title_justify="left",
        caption_justify="left",
        caption=(
            "success = runs whose final text equals the fault-free answer, with its 95% Wilson "
            "interval; time x = model time / fault-free model time (same seed, same speed; "
            "median and p95 of completed runs); tokens x = output / final tokens; vs oracle = "
            "median time and tokens / the oracle's run of the same fault, seed and repeat, "
            "[95% interval] from 6 pairs (empty with --no-oracle)"
        ),
    )
    for name, justify in (
        ("strategy", "left"),
        ("fault", "left"),
        ("runs", "right"),
        ("success", "right"),
        ("95%", "right"),
        ("time x med", "right"),
        ("time x p95", "right"),
        ("tokens x", "right"),
        ("attempts", "right"),
        ("vs oracle time", "right"),
        ("vs oracle tokens", "right"),
        ("tiers / failures", "left"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in summary.itertuples(index=False):
        fault = f"{row.fault} (baseline)" if row.fault == BASELINE_FAULT else row.fault
        table.add_row(
            row.strategy,
            fault,
            str(row.runs),
            f"{row.completed}/{row.runs} ({row.success_rate:.0%})",
            f"{row.success_low:.2f}-{row.success_high:.2f}",
            _number(row.median_slowdown, "{:.2f}"),
            _number(row.p95_slowdown, "{:.2f}"),
            _number(row.token_ratio, "{:.3f}"),
            _number(row.mean_attempts, "{:.1f}"),
            _versus(row.oracle_time_ratio, row.oracle_time_low, row.oracle_time_high),
            _versus(row.oracle_tokens_ratio, row.oracle_tokens_low, row.oracle_tokens_high),
            "; ".join(part for part in (row.tiers, row.outcomes) if part),
        )
    return table


class ExperimentProgress:
    """A rich progress bar fed by `run_experiment`'s `on_start` and `on_run` callbacks."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress = Progress(
            TextColumn("[bold]experiment[/]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[last]}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self._task: TaskID | None = None
        self.failures = 0

    def __enter__(self) -> ExperimentProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def on_start(self, experiment_id: uuid.UUID, total: int) -> None:
        self.console.print(f"experiment {experiment_id}: {total} generations", highlight=False)
        self._task = self.progress.add_task("runs", total=total, last="")

    def on_run(self, outcome: RunOutcome, done: int, total: int) -> None:
        if outcome.status != "completed":
            self.failures += 1
        run = outcome.run
        last = (
            f"{run.strategy} × {run.fault[:30]} #{run.repeat_index}: {outcome.status}"
            f" ({outcome.tier or '-'}); {self.failures} not completed"
        )
        if self._task is not None:
            self.progress.update(self._task, completed=done, last=last)
