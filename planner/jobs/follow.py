"""Following an experiment whose runs are jobs: from any process, started there or not.

The runs' rows are the truth (each is stored the moment its generation ends), so a
follower polls them and reports each finished run once, as `run_experiment` reports its
own; it ends when the experiment is closed (the last run's job closes it). A follower
that is killed loses nothing: the runs go on in the workers.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from sqlalchemy import select

from planner.db import Database, Experiment, ExperimentRun
from planner.experiments import ExperimentResult, PlannedRun, ProgressCallback, RunOutcome
from planner.store import GenerationNotFound

POLL_S = 0.5


def _outcome(run: ExperimentRun) -> RunOutcome:
    return RunOutcome(
        run=PlannedRun(run.id, run.fault, run.strategy, run.repeat_index, run.seed),
        generation_id=run.generation_id,
        status=run.status,
        tier=run.tier,
        attempts=run.attempts or 0,
        duration_s=run.duration_s,
        output_tokens=run.output_tokens or 0,
        final_tokens=run.final_tokens or 0,
        wasted_output_tokens=run.wasted_output_tokens or 0,
        error=run.error,
    )


def follow_experiment(
    db: Database,
    experiment_id: uuid.UUID,
    *,
    on_start: Callable[[uuid.UUID, int], None] | None = None,
    on_run: ProgressCallback | None = None,
    poll_s: float = POLL_S,
    finished: tuple[str, ...] = ("completed", "failed", "error", "cancelled", "interrupted"),
) -> ExperimentResult:
    """Report every run as it finishes until the experiment is closed."""

    def read() -> tuple[str | None, list[ExperimentRun]]:
        def query(session) -> tuple[str | None, list[ExperimentRun]]:  # noqa: ANN001
            status = session.scalar(select(Experiment.status).where(Experiment.id == experiment_id))
            runs = session.scalars(
                select(ExperimentRun).where(ExperimentRun.experiment_id == experiment_id)
            ).all()
            return status, list(runs)

        return db.in_session(query)

    status, runs = read()
    if status is None:
        raise GenerationNotFound(f"no experiment {experiment_id}")
    if on_start is not None:
        on_start(experiment_id, len(runs))
    result = ExperimentResult(experiment_id, status)
    seen: set[uuid.UUID] = set()
    while True:
        for run in runs:
            if run.id not in seen and run.status in finished:
                seen.add(run.id)
                outcome = _outcome(run)
                result.outcomes.append(outcome)
                if on_run is not None:
                    on_run(outcome, len(seen), len(runs))
        if status != "running":
            result.status = status
            return result
        time.sleep(poll_s)
        status, runs = read()
