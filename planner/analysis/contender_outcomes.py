"""How each finished contender run ended, in the terms the fault success rates count.

A contender run (another library's recovery path, or the oracle: `planner.contenders`) is
an `experiment_runs` row with no generation, so nothing of it is in `generations` or
`generation_attempts`. What its row keeps is enough to place it beside the strategies'
generations in `planner.analysis.stats.fault_success_rates`, judged by the same rule:

- `completed` only when the judge found its final text equal to the seed's fault-free
  answer (`outcome` = `complete`, `planner.experiment_judging`); a text the library
  returned as complete that is only the start of the answer is a failure;
- a run that finished but is not judged yet (its experiment is still running, or no
  fault-free run of its seed completed) is left out, as a live generation is: its
  library's word is not believed;
- counted apart: `cancelled` (the experiment stopped before it ran), `interrupted`, and
  `configuration`: the run could not run at all (status `error`), or its library raised
  an error a fault does not cause: a request the API refuses as such, by the HTTP status
  stored with the run (`planner.protocol.REQUEST_REFUSED_STATUSES`).

Whether the fault fired is read from what the run kept: a run that did not complete met
it, and one that completed fired it when it took more requests than the stages it
answered, or handed its consumer more text than its answers hold. A library whose
requests could not be counted leaves a complete run's firing unknown (`fired_known`
False), and a cell with such a run is never flagged as "never fired".

The stats filters apply through the run's experiment (user, speed), its row (experiment,
`created_at`: when the experiment planned it) and its stored configuration (model); a run
with no configuration (one cancelled before it ran) has no model, so a model filter
leaves it out.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

import pandas as pd
from sqlalchemy import select

from planner.analysis._query import read_frame
from planner.contenders import CONTENDER, UnknownContender, kind_of
from planner.db import Database, Experiment, ExperimentRun
from planner.protocol import REQUEST_REFUSED_STATUSES

if TYPE_CHECKING:
    from planner.analysis.stats import StatsFilter

COLUMNS = ["id", "strategy", "fault_spec", "outcome", "fired", "fired_known", "model", "speed"]
LIVE = ("pending", "running")


def _is_contender(name: str) -> bool:
    try:
        return kind_of(name) == CONTENDER
    except UnknownContender:
        return False


def _mapping(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        value = json.loads(value)
    return value if isinstance(value, dict) else {}


def contender_run_outcomes(
    db: Database, user_id: uuid.UUID, filters: StatsFilter | None = None
) -> pd.DataFrame:
    """One row per finished contender run of `user_id`'s experiments: how it ended
    (`outcome`: completed, failed, cancelled, interrupted or configuration), whether its
    fault fired (`fired`, and `fired_known`), its model and its experiment's speed."""
    statement = (
        select(
            ExperimentRun.id,
            ExperimentRun.strategy,
            ExperimentRun.fault.label("fault_spec"),
            ExperimentRun.status,
            ExperimentRun.outcome.label("verdict"),
            ExperimentRun.http_status,
            ExperimentRun.attempts,
            ExperimentRun.delivered_chars,
            ExperimentRun.answers,
            ExperimentRun.config,
            Experiment.speed,
        )
        .join(Experiment, Experiment.id == ExperimentRun.experiment_id)
        .where(
            Experiment.user_id == user_id,
            ExperimentRun.generation_id.is_(None),
            ExperimentRun.status.not_in(LIVE),
        )
        .order_by(ExperimentRun.created_at, ExperimentRun.repeat_index, ExperimentRun.strategy)
    )
    if filters is not None:
        statement = _narrowed(statement, filters)
    frame = read_frame(db, statement)
    if not frame.empty:
        frame = frame[frame["strategy"].map(_is_contender)]
    if frame.empty:
        return pd.DataFrame(columns=COLUMNS)
    frame = frame.copy()
    frame["model"] = [_mapping(c).get("model") for c in frame["config"]]
    if filters is not None and filters.models:
        frame = frame[frame["model"].isin(filters.models)]
    frame["outcome"] = [_outcome(row) for row in frame.itertuples()]
    frame = frame[frame["outcome"].notna()]
    answered = [_mapping(a) for a in frame["answers"]]
    requests = pd.to_numeric(frame["attempts"], errors="coerce").fillna(0)
    stages = pd.Series([len(a) for a in answered], index=frame.index)
    kept = pd.Series([sum(len(str(t)) for t in a.values()) for a in answered], index=frame.index)
    delivered = pd.to_numeric(frame["delivered_chars"], errors="coerce")
    met = frame["outcome"] == "failed"
    retried = (requests > stages) | (delivered > kept).fillna(False)
    frame["fired"] = met | retried
    frame["fired_known"] = met | retried | (requests > 0)
    frame["speed"] = frame["speed"].astype(float)
    return frame[COLUMNS].reset_index(drop=True)


def _narrowed(statement: Any, filters: StatsFilter) -> Any:
    if filters.experiment_id is not None:
        statement = statement.where(ExperimentRun.experiment_id == filters.experiment_id)
    statement = statement.where(*filters.within_dates(ExperimentRun.created_at))
    if filters.speeds:
        statement = statement.where(Experiment.speed.in_(filters.speeds))
    return statement


def _outcome(run: Any) -> str | None:
    """completed, failed, one counted apart, or None (not judged yet: left out)."""
    if run.status in ("cancelled", "interrupted"):
        return str(run.status)
    refused = not pd.isna(run.http_status) and int(run.http_status) in REQUEST_REFUSED_STATUSES
    if run.status == "error" or (run.status == "failed" and refused):
        return "configuration"
    if run.verdict == "complete":
        return "completed"
    if run.status == "failed":
        return "failed"
    return None


__all__ = ["contender_run_outcomes"]
