"""The generation API every front end uses: run, resume, and the start-up checks.

`run_generation(request)` validates the request, creates the generation's row, runs it
to the end in the calling thread and returns the outcome. `resume_generation(id)`
finishes an interrupted one from its checkpoint. `prepare_database()` is what a process
does on start: migrate if needed, then mark generations abandoned by dead processes
`interrupted` (once per process and database).
"""

from __future__ import annotations

import threading
import uuid

from sqlalchemy import update

from planner.config import get_settings
from planner.db import Generation, ensure_schema, get_engine, utcnow, with_lock_retry
from planner.events import EventBus, default_bus
from planner.plan.dbhold import held_open
from planner.plan.endpoint import EndpointError, endpoint_for
from planner.plan.generator import GenerationRun
from planner.plan.liveness import claim, mark_interrupted, release
from planner.plan.recorder import GenerationRecorder, create_generation
from planner.plan.request import GenerationOutcome, GenerationRequest, GenerationRequestError
from planner.plan.spec import GenerationSpec, ResumePoint
from planner.plan.stored import load_row, outcome_of, reopen, spec_of, user_exists

_prepared: set[str] = set()
_prepared_lock = threading.Lock()


def _url(database_url: str | None) -> str:
    return database_url or get_settings().database_url


def prepare_database(database_url: str | None = None) -> list[uuid.UUID]:
    """Migrate if needed and mark abandoned generations interrupted (first call only)."""
    url = _url(database_url)
    ensure_schema(url)
    with _prepared_lock:
        if url in _prepared:
            return []
        interrupted = mark_interrupted(url)
        _prepared.add(url)
        return interrupted


def create(
    request: GenerationRequest, *, database_url: str | None = None, status: str = "running"
) -> GenerationSpec:
    """Validate the request and write the generation's row; nothing runs yet."""
    request = request.validated()
    settings = get_settings()
    try:
        endpoint_for(settings, faults=request.faults)
    except EndpointError as exc:
        raise GenerationRequestError([str(exc)]) from None
    url = _url(database_url)
    with held_open(url):
        prepare_database(url)
        if not user_exists(request.user_id, url):
            raise GenerationRequestError([f"no user with id {request.user_id}"])
        generation_id = create_generation(
            user_id=request.user_id,
            description=request.description,
            strategy=request.strategy,
            fault_spec=request.faults,
            model=request.model or settings.model,
            seed=request.seed,
            speed=request.speed,
            status=status,
            database_url=url,
        )
        return spec_of(load_row(generation_id, url))


def execute(
    spec: GenerationSpec,
    *,
    bus: EventBus | None = None,
    database_url: str | None = None,
    cancel: threading.Event | None = None,
    resume: ResumePoint | None = None,
) -> GenerationOutcome:
    """Run a created (or reopened) generation to its end in this thread."""
    url = _url(database_url)
    bus = bus or default_bus()
    claim(spec.generation_id)
    try:
        recorder = GenerationRecorder(spec.generation_id, database_url=url, fresh=resume is None)
        recorder.update(status="running")
        run = GenerationRun(
            spec,
            recorder=recorder,
            bus=bus,
            database_url=url,
            cancel=cancel,
            now=utcnow,
        )
        return run.execute(resume)
    finally:
        release(spec.generation_id)


def run_generation(
    request: GenerationRequest,
    *,
    bus: EventBus | None = None,
    database_url: str | None = None,
    cancel: threading.Event | None = None,
) -> GenerationOutcome:
    """One whole generation, synchronously; GenerationRequestError for bad input."""
    spec = create(request, database_url=database_url)
    return execute(spec, bus=bus, database_url=database_url, cancel=cancel)


def _finish_saved(generation_id: uuid.UUID, url: str) -> None:
    """The plan was saved but the process died before the row said so."""

    def write() -> None:
        with get_engine(url).begin() as conn:
            conn.execute(
                update(Generation)
                .where(Generation.id == generation_id)
                .values(status="completed", error=None, finished_at=utcnow())
            )

    with_lock_retry(write)


def resume_generation(
    generation_id: uuid.UUID | str,
    *,
    bus: EventBus | None = None,
    database_url: str | None = None,
    cancel: threading.Event | None = None,
) -> GenerationOutcome:
    """Finish an interrupted generation from its last checkpoint.

    GenerationNotFound / GenerationNotResumable (with the reason) otherwise; a generation
    that already completed just returns its outcome.
    """
    url = _url(database_url)
    gid = generation_id if isinstance(generation_id, uuid.UUID) else uuid.UUID(str(generation_id))
    prepare_database(url)
    row = load_row(gid, url)
    if row.status == "completed":
        return outcome_of(gid, url)
    if row.status == "interrupted" and row.masterplan_id is not None:
        _finish_saved(gid, url)
        return outcome_of(gid, url)
    spec, resume = reopen(gid, url)
    return execute(spec, bus=bus, database_url=url, cancel=cancel, resume=resume)
