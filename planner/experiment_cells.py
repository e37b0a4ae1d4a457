"""What one experiment run is, and how its outcome is stored: a strategy or a contender.

One of planner's strategies runs as a real generation (`planner.plan.runner`), recorded
like any other; a contender (another library's documented recovery path, or the oracle)
asks the generation's same two requests through that library (`planner.contender_runs`).
Either ends as a `RunOutcome` stored in its `experiment_runs` row with its configuration
and library versions; a contender's texts are kept too, so it can be judged once its seed's
fault-free answer is known (`planner.experiment_judging`). How runs are scheduled is
`planner.experiments`' business, not this module's.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from planner.contender_runs import run_contender
from planner.contenders import CONTENDER, get_contender, kind_of
from planner.contenders.base import installed_versions
from planner.db import Database, ExperimentRun
from planner.plan.request import GenerationOutcome, GenerationRequest
from planner.plan.runner import create, execute
from planner.store import GenerationStore


@dataclass(frozen=True)
class PlannedRun:
    run_id: uuid.UUID
    fault: str
    strategy: str
    repeat_index: int
    seed: int


@dataclass(frozen=True)
class RunOutcome:
    run: PlannedRun
    generation_id: uuid.UUID | None
    status: str
    tier: str | None
    attempts: int
    duration_s: float | None
    output_tokens: int
    final_tokens: int
    wasted_output_tokens: int
    error: str | None
    config: dict[str, Any] | None = None
    versions: dict[str, str] | None = None
    answers: dict[str, str] | None = None
    delivered_chars: int | None = None
    http_status: int | None = None


@dataclass(frozen=True)
class RunContext:
    """What every run of one experiment shares."""

    description: str
    model: str
    speed: float
    user_id: uuid.UUID


def execute_run(store: GenerationStore, context: RunContext, run: PlannedRun) -> RunOutcome:
    """One run, whatever it is: a strategy's generation or a contender's two requests."""
    try:
        if kind_of(run.strategy) == CONTENDER:
            return _execute_contender(context, run)
        return _execute_generation(store, context, run)
    except Exception as exc:  # one broken run must not end the experiment
        message = f"{type(exc).__name__}: {exc}"
        return RunOutcome(run, None, "error", None, 0, None, 0, 0, 0, message)


def _execute_contender(context: RunContext, run: PlannedRun) -> RunOutcome:
    done = run_contender(
        get_contender(run.strategy),
        run_id=run.run_id,
        description=context.description,
        model=context.model,
        faults=run.fault,
        seed=run.seed,
        speed=context.speed,
    )
    return RunOutcome(
        run=run,
        generation_id=None,
        status="failed" if done.raised else "completed",  # what it claimed; judged later
        tier=None,
        attempts=done.requests or 0,
        duration_s=done.duration_s,
        output_tokens=done.output_tokens,
        final_tokens=0,  # the seed's fault-free tokens, once judged
        wasted_output_tokens=0,
        error=done.error,
        config=done.config,
        versions=done.versions,
        answers=done.answers,
        delivered_chars=done.delivered_chars,
        http_status=done.http_status,
    )


def generation_request(context: RunContext, run: PlannedRun) -> GenerationRequest:
    """The generation a strategy's run makes."""
    return GenerationRequest(
        description=context.description,
        user_id=context.user_id,
        strategy=run.strategy,
        faults=run.fault,
        speed=context.speed,
        seed=run.seed,
        model=context.model,
    )


def generation_outcome(run: PlannedRun, outcome: GenerationOutcome, model: str) -> RunOutcome:
    """What a strategy's run stores of its generation's outcome."""
    return RunOutcome(
        run=run,
        generation_id=outcome.generation_id,
        status=outcome.status,
        tier=outcome.tier,
        attempts=outcome.attempts,
        duration_s=outcome.duration_s,
        output_tokens=outcome.output_tokens,
        final_tokens=max(0, outcome.output_tokens - outcome.wasted_output_tokens),
        wasted_output_tokens=outcome.wasted_output_tokens,
        error=outcome.error,
        config={
            "kind": "strategy",
            "client": "planner.llm.ResilientClient",
            "strategy": run.strategy,
            "model": model,
        },
        versions=installed_versions("planner", "anthropic"),
    )


def _execute_generation(store: GenerationStore, context: RunContext, run: PlannedRun) -> RunOutcome:
    outcome = execute(store, create(store, generation_request(context, run)))
    return generation_outcome(run, outcome, context.model)


def store_outcome(db: Database, outcome: RunOutcome) -> None:
    def write(session: Session) -> None:
        session.execute(
            update(ExperimentRun)
            .where(ExperimentRun.id == outcome.run.run_id)
            .values(
                generation_id=outcome.generation_id,
                status=outcome.status,
                tier=outcome.tier,
                attempts=outcome.attempts,
                duration_s=outcome.duration_s,
                output_tokens=outcome.output_tokens,
                final_tokens=outcome.final_tokens,
                wasted_output_tokens=outcome.wasted_output_tokens,
                error=outcome.error,
                config=outcome.config,
                versions=outcome.versions,
                answers=outcome.answers,
                delivered_chars=outcome.delivered_chars,
                http_status=outcome.http_status,
            )
        )

    db.in_session(write)


__all__ = ["PlannedRun", "RunContext", "RunOutcome", "execute_run", "store_outcome"]
