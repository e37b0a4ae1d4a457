"""Failure-mode experiments: every fault × strategy or contender, N times, judged by one rule.

What a run is: one of planner's strategies runs as a real generation; a contender (another
library's documented recovery path, or the oracle floor: `planner.contenders`) asks the
generation's same two requests through that library (`planner.contender_runs`). Either is
stored as an experiment run with its configuration and library versions, and judged once the
seed's fault-free answer is known: the final text must equal it, and a text returned as
complete that is only its start is a failure, silently truncated (`planner.experiment_judging`).

Design:
- Paired seeds. Repeat r of an experiment with seed K uses the seed `derive_seed(K, r)` in
  every cell, so strategies and faults are compared on the same plans (and the same
  simulator draws, which depend on the seed and the stage, not on the generation: see
  `planner.protocol.RunKey`); the same experiment with the same seed gives the same
  outcomes, down to where each connection drops.
  With `--from-generation`, repeat 0 uses the source generation's own seed and
  description, so the replayed faults cut the same plan text at the same places.
- A fair baseline. Each (strategy, seed) also runs fault-free (`none`) in the same pool,
  at the same speed, interleaved with the faulty runs, so machine load touches both
  alike. Without faults every strategy makes the same single stream per stage, so the
  baseline of a seed is the median of its fault-free runs; a run's slowdown is its model
  time ÷ that (`planner.analysis.experiments` defines the measures). When `none` is one
  of the experiment's faults, those runs are the baselines.
- Everything is stored first: the experiment and every run (pending) are written before
  the first generation starts, each run is updated the moment its generation ends, and
  an interrupted experiment keeps what it has (`interrupted`, the rest `cancelled`).
  Everything goes to the `Database` the caller passes in.
"""

from __future__ import annotations

import hashlib
import statistics
import threading
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from planner.analysis.experiments import BASELINE_FAULT, experiment_runs, summarize
from planner.auth import get_or_create_local_user
from planner.config import get_settings
from planner.contenders import (
    ORACLE,
    RUN_CHOICES,
    UnknownContender,
    kind_of,
    require_installed,
)
from planner.db import Database, Experiment, ExperimentRun, Generation, utcnow
from planner.errors import InputError, NotFoundError
from planner.experiment_cells import (
    PlannedRun,
    RunContext,
    RunOutcome,
    execute_run,
    generation_outcome,
    generation_request,
    store_outcome,
)
from planner.experiment_judging import judge_runs
from planner.failures import (
    FailureSpecError,
    fault_spec_from_generation,
    fault_spec_text,
    recorded_request,
)
from planner.plan.request import GenerationOutcome, GenerationRequest
from planner.sim import FaultSpecError, parse_fault_spec
from planner.store import GenerationStore

DEFAULT_DESCRIPTION = (
    "An online bookshop: catalogue search, shopping cart, payments by card, order "
    "tracking and an admin back office for stock and refunds."
)
MAX_SEED = 2**31 - 1

__all__ = [
    "DEFAULT_DESCRIPTION",
    "ExperimentConfig",
    "ExperimentError",
    "ExperimentNotFound",
    "ExperimentResult",
    "RunOutcome",
    "contender_request",
    "create_rows",
    "derive_seed",
    "finish_experiment",
    "fault_spec_from_generation",
    "plan_runs",
    "run_experiment",
    "run_outcome",
    "run_request",
    "split_faults",
    "store_outcome",
    "with_the_oracle",
]


class ExperimentError(InputError, ValueError):
    """An experiment that cannot run as asked; the message says what to change."""


class ExperimentNotFound(NotFoundError, LookupError):
    """No such experiment of this user's (the same answer for a foreign id)."""


def derive_seed(experiment_seed: int, repeat_index: int) -> int:
    """The seed of repeat `repeat_index`: stable, spread out, a positive 31-bit integer."""
    digest = hashlib.sha256(f"planner-experiment:{experiment_seed}:{repeat_index}".encode())
    return int.from_bytes(digest.digest()[:4], "big") % MAX_SEED


def split_faults(text: str) -> list[str]:
    """Split `A,B` on top-level commas only, so JSON specs may contain commas."""
    parts: list[str] = []
    depth = 0
    quoted = False
    current: list[str] = []
    previous = ""
    for char in text:
        if char == '"' and previous != "\\":
            quoted = not quoted
        elif not quoted and char in "[{":
            depth += 1
        elif not quoted and char in "]}":
            depth -= 1
        if char == "," and depth == 0 and not quoted:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
        previous = char
    parts.append("".join(current).strip())
    return [p for p in parts if p]


@dataclass(frozen=True)
class ExperimentConfig:
    faults: tuple[str, ...]
    strategies: tuple[str, ...]
    repeats: int = 1
    concurrency: int = 1
    speed: float = 100.0
    seed: int = 0
    description: str | None = None  # None: DEFAULT_DESCRIPTION, or the source generation's
    from_generation_id: uuid.UUID | None = None
    name: str = ""
    model: str | None = None  # None: the configured model (PLANNER_MODEL)
    # Which of the strategies also run fault-free when `none` is not one of the faults
    # (empty: all of them). One strategy and one contender are enough to judge every run;
    # a slow library's fault-free runs can cost more than the rest of the experiment.
    baseline_strategies: tuple[str, ...] = ()
    first_seed: int | None = None  # repeat 0's seed (a source generation's own seed)
    checked: bool = field(default=False, repr=False)

    def validated(self, db: Database) -> ExperimentConfig:
        """This config checked (clear errors) and, with a source generation, its spec added."""
        if self.checked:
            return self
        if self.repeats < 1:
            raise ExperimentError(f"--repeats must be at least 1, not {self.repeats}")
        if self.concurrency < 1:
            raise ExperimentError(f"--concurrency must be at least 1, not {self.concurrency}")
        if not self.speed > 0:
            raise ExperimentError(f"--speed must be greater than 0, not {self.speed}")
        if not 0 <= self.seed <= MAX_SEED:
            raise ExperimentError(f"--seed must be between 0 and {MAX_SEED}, not {self.seed}")
        if self.description is not None and not self.description.strip():
            raise ExperimentError("the description must not be empty")
        if not self.strategies:
            raise ExperimentError(f"give at least one strategy ({', '.join(RUN_CHOICES)})")
        for name in self.strategies:
            try:
                kind_of(name)
            except UnknownContender as exc:
                raise ExperimentError(str(exc)) from None
            require_installed(name)
        outside = sorted(set(self.baseline_strategies) - set(self.strategies))
        if outside:
            raise ExperimentError(f"baseline strategies not among the strategies: {outside}")
        if self.model is not None and not self.model.strip():
            raise ExperimentError("the model name must not be empty")
        faults = list(self.faults)
        description = self.description or DEFAULT_DESCRIPTION
        first_seed = self.first_seed
        if self.from_generation_id is not None:
            # Same description and seed as the source: the same plan text, so the faults'
            # fractions cut at the same places.
            try:
                derived = fault_spec_from_generation(db, self.from_generation_id)
                source = recorded_request(db, self.from_generation_id)
            except FailureSpecError as exc:
                raise ExperimentError(f"--from-generation: {exc}") from None
            faults.insert(0, fault_spec_text(derived))
            description = self.description or source.description
            first_seed = source.seed if first_seed is None else first_seed
        if not faults:
            raise ExperimentError("give at least one fault (a profile name or a JSON spec)")
        for spec in faults:
            try:
                parse_fault_spec(spec)
            except FaultSpecError as exc:
                raise ExperimentError(f"fault {spec!r}: {exc}") from None
        for values, what in ((faults, "fault"), (list(self.strategies), "strategy")):
            repeated = sorted({v for v in values if values.count(v) > 1})
            if repeated:
                raise ExperimentError(f"{what} given twice: {', '.join(repeated)}")
        return replace(
            self,
            faults=tuple(faults),
            description=description,
            first_seed=first_seed,
            model=self.model or get_settings().model,
            checked=True,
        )


def with_the_oracle(config: ExperimentConfig) -> ExperimentConfig:
    """`config` with the oracle among its strategies (last), unless it is there already:
    every summary then shows each strategy's distance to the floor. Apply it before
    `validated` (which adds a source generation's fault)."""
    if ORACLE in config.strategies:
        return config
    return replace(config, strategies=(*config.strategies, ORACLE), checked=False)


@dataclass
class ExperimentResult:
    experiment_id: uuid.UUID
    status: str
    outcomes: list[RunOutcome] = field(default_factory=list)

    def runs(self, db: Database) -> Any:
        return experiment_runs(db, self.experiment_id)

    def summary(self, db: Database) -> Any:
        return summarize(self.runs(db))


def plan_runs(config: ExperimentConfig) -> list[PlannedRun]:
    """Every cell, repeat by repeat (faults interleaved), plus the fault-free baselines."""
    faults = list(config.faults)
    if BASELINE_FAULT not in faults:
        faults.append(BASELINE_FAULT)
    seeds = [derive_seed(config.seed, repeat) for repeat in range(config.repeats)]
    if config.first_seed is not None:
        seeds[0] = config.first_seed
    baselines = config.baseline_strategies or config.strategies
    asked = set(config.faults)
    return [
        PlannedRun(uuid.uuid4(), fault, strategy, repeat, seeds[repeat])
        for repeat in range(config.repeats)
        for fault in faults
        for strategy in config.strategies
        if fault in asked or strategy in baselines
    ]


def create_rows(
    db: Database, config: ExperimentConfig, runs: list[PlannedRun], user_id: uuid.UUID
) -> uuid.UUID:
    experiment_id = uuid.uuid4()

    def write(session: Session) -> None:
        session.add(
            Experiment(
                id=experiment_id,
                user_id=user_id,
                name=config.name,
                faults=list(config.faults),
                strategies=list(config.strategies),
                repeats=config.repeats,
                concurrency=config.concurrency,
                speed=config.speed,
                seed=config.seed,
                from_generation_id=config.from_generation_id,
                status="running",
            )
        )
        session.flush()
        session.add_all(
            ExperimentRun(
                id=r.run_id,
                experiment_id=experiment_id,
                fault=r.fault,
                strategy=r.strategy,
                repeat_index=r.repeat_index,
                seed=r.seed,
                status="pending",
            )
            for r in runs
        )

    db.in_session(write)
    return experiment_id


def _asked(config: ExperimentConfig) -> tuple[str, str]:
    """The description and model every run of the experiment asks for."""
    return config.description or DEFAULT_DESCRIPTION, config.model or get_settings().model


def _context(config: ExperimentConfig, user_id: uuid.UUID) -> RunContext:
    description, model = _asked(config)
    return RunContext(description=description, model=model, speed=config.speed, user_id=user_id)


def _execute(
    store: GenerationStore, config: ExperimentConfig, run: PlannedRun, user_id: uuid.UUID
) -> RunOutcome:
    return execute_run(store, _context(config, user_id), run)


def contender_request(config: ExperimentConfig) -> dict[str, str | float]:
    """What a contender's run on a worker asks, as its job's arguments
    (`planner.jobs.running.run_contender_run`)."""
    description, model = _asked(config)
    return {"description": description, "model": model, "speed": config.speed}


def run_request(config: ExperimentConfig, run: PlannedRun, user_id: uuid.UUID) -> GenerationRequest:
    """The generation a strategy's run makes (a worker job runs it: planner.jobs)."""
    return generation_request(_context(config, user_id), run)


def run_outcome(
    run: PlannedRun, outcome: GenerationOutcome, model: str | None = None
) -> RunOutcome:
    """What a strategy's run stores of its generation's outcome."""
    return generation_outcome(run, outcome, model or get_settings().model)


def finish_experiment(db: Database, experiment_id: uuid.UUID, status: str) -> None:
    """Every run judged, baselines into every run, the unfinished runs cancelled, the
    experiment closed.

    A run's baseline duration is the median fault-free duration of runs of its kind and
    seed: a generation's duration includes planner's parsing and saving, a contender's only
    its two requests.
    """

    def write(session: Session) -> None:
        runs = session.scalars(
            select(ExperimentRun).where(ExperimentRun.experiment_id == experiment_id)
        ).all()
        generation_ids = [r.generation_id for r in runs if r.generation_id is not None]
        stored = dict(
            session.execute(
                select(Generation.id, Generation.checkpoint_text).where(
                    Generation.id.in_(generation_ids)
                )
            ).all()
        )
        judge_runs(runs, stored)
        clean: dict[tuple[bool, int], list[float]] = {}
        for r in runs:
            if r.fault == BASELINE_FAULT and r.status == "completed" and r.duration_s:
                clean.setdefault((r.generation_id is None, r.seed), []).append(r.duration_s)
        baseline = {key: statistics.median(times) for key, times in clean.items()}
        for run in runs:
            run.baseline_duration_s = baseline.get((run.generation_id is None, run.seed))
            if run.status in {"pending", "running"}:
                run.status = "cancelled"
        experiment = session.get(Experiment, experiment_id)
        assert experiment is not None
        experiment.status = status
        experiment.finished_at = utcnow()

    db.in_session(write)


ProgressCallback = Callable[[RunOutcome, int, int], None]


def run_experiment(
    db: Database,
    config: ExperimentConfig,
    *,
    user_id: uuid.UUID | None = None,
    on_start: Callable[[uuid.UUID, int], None] | None = None,
    on_run: ProgressCallback | None = None,
    stop: threading.Event | None = None,
) -> ExperimentResult:
    """Run the experiment to the end (or until `stop` is set / Ctrl-C) and store it.

    `on_start(experiment_id, total_runs)` once the rows exist; `on_run(outcome, done,
    total)` after every generation.
    """
    db.ensure_schema()
    config = config.validated(db)
    if user_id is None:
        user_id = get_or_create_local_user(db).id
    runs = plan_runs(config)
    experiment_id = create_rows(db, config, runs, user_id)
    if on_start is not None:
        on_start(experiment_id, len(runs))
    result = ExperimentResult(experiment_id, "running")
    stop = stop or threading.Event()
    status = "completed"
    try:
        _run_all(db, config, runs, user_id, result, on_run, stop)
        if stop.is_set():
            status = "interrupted"
    except BaseException:
        status = "interrupted"
        stop.set()
        raise
    finally:
        finish_experiment(db, experiment_id, status)
        result.status = status
    return result


def _run_all(
    db: Database,
    config: ExperimentConfig,
    runs: Iterable[PlannedRun],
    user_id: uuid.UUID,
    result: ExperimentResult,
    on_run: ProgressCallback | None,
    stop: threading.Event,
) -> None:
    queue = list(runs)
    total = len(queue)
    store = GenerationStore(db)  # one store: the liveness scan runs once, not per run
    with ThreadPoolExecutor(max_workers=config.concurrency, thread_name_prefix="exp") as pool:
        active: set[Future[RunOutcome]] = set()
        try:
            while queue or active:
                while queue and len(active) < config.concurrency and not stop.is_set():
                    active.add(pool.submit(_execute, store, config, queue.pop(0), user_id))
                if not active:
                    break
                finished, active = wait(active, return_when=FIRST_COMPLETED)
                for future in finished:
                    outcome = future.result()
                    store_outcome(db, outcome)
                    result.outcomes.append(outcome)
                    if on_run is not None:
                        on_run(outcome, len(result.outcomes), total)
        except BaseException:
            # Start no new generation; keep the outcomes of those already running.
            stop.set()
            for future in active:
                outcome = future.result()
                store_outcome(db, outcome)
                result.outcomes.append(outcome)
            raise
