"""The generation API every front end uses: run, resume, and the stored outcome.

Each takes the `Database` the front end made (`run_generation(db, request)`, the way
simonw/llm passes its `db`). `run_generation` validates the request, creates the
generation's row, runs it to the end in the calling thread and returns the outcome.
`resume_generation` finishes an interrupted one from its checkpoint. `prepare` is what a
process does on start: migrate if needed, then mark generations abandoned by dead
processes `interrupted`. Events go out on `bus` (the process's default bus unless
given); the core attaches no front end to it: the CLI, the dashboard and `planner serve`
attach the Socket.IO publisher themselves.
"""

from __future__ import annotations

import threading
import uuid

from planner.catalog import RetiredModelError
from planner.config import get_settings
from planner.db import Database, utcnow
from planner.events import EventBus, default_bus
from planner.plan.endpoint import EndpointError, endpoint_for
from planner.plan.generator import GenerationRun
from planner.plan.model_check import ModelNotServed, verify_model
from planner.plan.request import (
    GenerationOutcome,
    GenerationRequest,
    GenerationRequestError,
    model_problem,
)
from planner.plan.settings import GenerationSettings, SettingsError
from planner.store import (
    GenerationSpec,
    GenerationStatus,
    GenerationStore,
    Lease,
    ResumePoint,
    RowWrite,
    held_here,
)


def prepare(db: Database) -> list[uuid.UUID]:
    """Migrate if needed and mark abandoned generations interrupted; returns those."""
    return GenerationStore(db).prepare()


def create(
    store: GenerationStore,
    request: GenerationRequest,
    *,
    status: GenerationStatus = GenerationStatus.RUNNING,
    also: RowWrite | None = None,
    owned: bool = True,
    generation_id: uuid.UUID | None = None,
) -> GenerationSpec:
    """Validate the request and write the generation's row (and `also(conn)` in the same
    transaction: its job, when a worker runs it); nothing runs yet."""
    request = request.validated()
    settings = get_settings()
    model = request.model or settings.model
    if problem := model_problem(model):  # PLANNER_MODEL is checked here, like a typed name
        raise GenerationRequestError(
            [f"PLANNER_MODEL: {problem}" if not request.model else problem]
        )
    try:
        known = verify_model(endpoint_for(settings, faults=request.faults), model).spec
        chosen = request.settings or GenerationSettings.planner_defaults(known)
        chosen = chosen.checked(known)
    except (EndpointError, RetiredModelError, ModelNotServed, SettingsError) as exc:
        raise GenerationRequestError([str(exc)]) from None
    with store.db.held():
        store.prepare()
        if not store.user_exists(request.user_id):
            raise GenerationRequestError([f"no user with id {request.user_id}"])
        return store.create(
            user_id=request.user_id,
            description=request.description,
            strategy=request.strategy,
            fault_spec=request.faults,
            model=model,
            settings=chosen.to_json(),
            seed=request.seed,
            speed=request.speed,
            status=status,
            also=also,
            owned=owned,
            generation_id=generation_id,
        )


def execute(
    store: GenerationStore,
    spec: GenerationSpec,
    *,
    bus: EventBus | None = None,
    cancel: threading.Event | None = None,
    resume: ResumePoint | None = None,
    lease: Lease | None = None,
    job_id: int | None = None,
) -> GenerationOutcome:
    """Run a created (or reopened, with the `lease` `reopen` took) generation to its end
    in this thread (a new one's lease names `job_id`, the worker job running it).
    LeaseLost if another claim took it meanwhile: this runner stopped and wrote nothing
    more."""
    bus = bus or default_bus()
    cancel = cancel or threading.Event()
    with held_here(spec.generation_id):
        if lease is None:
            lease = store.start(spec.generation_id, job_id=job_id)
        recording = store.recording(
            spec, lease=lease, resume=resume, publish=bus.publish, on_cancel=cancel.set
        )
        recording.update(status=GenerationStatus.RUNNING)
        run = GenerationRun(spec, recording=recording, cancel=cancel, now=utcnow)
        return run.execute(resume)


def run_generation(
    db: Database,
    request: GenerationRequest,
    *,
    bus: EventBus | None = None,
    cancel: threading.Event | None = None,
) -> GenerationOutcome:
    """One whole generation, synchronously; GenerationRequestError for bad input."""
    store = GenerationStore(db)
    spec = create(store, request)
    return execute(store, spec, bus=bus, cancel=cancel)


def outcome_of(db: Database, generation_id: uuid.UUID) -> GenerationOutcome:
    """The result object of a stored generation (finished or not)."""
    return GenerationOutcome.from_stored(GenerationStore(db).load(generation_id))


def resume_generation(
    db: Database,
    generation_id: uuid.UUID | str,
    *,
    bus: EventBus | None = None,
    cancel: threading.Event | None = None,
    job_id: int | None = None,
) -> GenerationOutcome:
    """Finish an interrupted generation from its last checkpoint.

    GenerationNotFound / GenerationNotResumable (with the reason) otherwise; a generation
    that already completed just returns its outcome.
    """
    store = GenerationStore(db)
    gid = generation_id if isinstance(generation_id, uuid.UUID) else uuid.UUID(str(generation_id))
    store.prepare()
    stored = store.load(gid)
    if stored.status == GenerationStatus.COMPLETED:
        return GenerationOutcome.from_stored(stored)
    if stored.status == GenerationStatus.INTERRUPTED and stored.masterplan_id is not None:
        store.finish_saved(gid)
        return outcome_of(db, gid)
    with held_here(gid):  # from the claim on: this process's own sweep leaves it alone
        spec, resume, lease = store.reopen(gid, job_id=job_id)
        return execute(store, spec, bus=bus, cancel=cancel, resume=resume, lease=lease)
