"""Generations in the background: start returns the id at once, a pool limits concurrency.

The dashboard, the Socket.IO endpoint and the CLI share this: `start(request)` validates
and stores the generation (status `queued`) in the caller's thread, so bad input is
refused right there and the id is real; a worker runs it when a slot is free. `cancel`
stops a queued generation before it starts and a running one at its next chunk; it ends
`failed` with "cancelled before it finished". Progress goes out on the event bus.

A front end makes one service for its process (the dashboard per server, `planner serve`
for its endpoint) on the Database it made.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field

from planner.db import Database
from planner.errors import InputError
from planner.events import EventBus, default_bus
from planner.plan.request import GenerationOutcome, GenerationRequest
from planner.plan.runner import create, execute, resume_generation
from planner.plan.sweep import Sweeper
from planner.store import GenerationSpec, GenerationStatus, GenerationStore

DEFAULT_MAX_CONCURRENT = 4


@dataclass
class _Job:
    future: Future[GenerationOutcome]
    cancel: threading.Event = field(default_factory=threading.Event)


class GenerationService:
    """Runs generations on a bounded pool of worker threads."""

    def __init__(
        self,
        db: Database,
        *,
        max_concurrent: int = DEFAULT_MAX_CONCURRENT,
        bus: EventBus | None = None,
        sweep: bool = False,
        enqueue: Callable[[GenerationRequest], uuid.UUID] | None = None,
    ) -> None:
        if max_concurrent < 1:
            raise InputError(f"max_concurrent must be at least 1, not {max_concurrent}")
        self.max_concurrent = max_concurrent
        self.bus = bus or default_bus()
        self.db = db
        self.store = GenerationStore(db)
        self._pool = ThreadPoolExecutor(max_concurrent, thread_name_prefix="generation")
        # With PostgreSQL the front end hands over `enqueue` (planner.jobs): a start
        # becomes a durable job any worker runs, not a thread of this process.
        self._enqueue = enqueue
        self._jobs: dict[uuid.UUID, _Job] = {}
        self._lock = threading.Lock()
        # A long-lived front end sweeps: dead runners are found while it runs, and
        # (auto-resume) their generations continue here.
        self.sweeper = Sweeper(db, bus=self.bus, resume=self.resume).start() if sweep else None

    def start(self, request: GenerationRequest) -> uuid.UUID:
        """Store the generation and queue it; GenerationRequestError for bad input."""
        if self._enqueue is not None:
            return self._enqueue(request)
        spec = create(self.store, request, status=GenerationStatus.QUEUED)
        return self._submit(spec.generation_id, lambda cancel: self._run(spec, cancel))

    def resume(self, generation_id: uuid.UUID) -> uuid.UUID:
        """Queue the resume of an interrupted generation."""
        self.store.prepare()
        return self._submit(
            generation_id,
            lambda cancel: resume_generation(self.db, generation_id, bus=self.bus, cancel=cancel),
        )

    def _submit(self, generation_id: uuid.UUID, work) -> uuid.UUID:  # noqa: ANN001
        cancel = threading.Event()
        with self._lock:
            future = self._pool.submit(work, cancel)
            self._jobs[generation_id] = _Job(future, cancel)
        return generation_id

    def _run(self, spec: GenerationSpec, cancel: threading.Event) -> GenerationOutcome:
        # Cancelled while queued: the run stops before its first request and its record
        # ends `failed` like any cancelled generation.
        return execute(self.store, spec, bus=self.bus, cancel=cancel)

    def wait(self, generation_id: uuid.UUID, timeout: float | None = None) -> GenerationOutcome:
        """The outcome once the generation ended (TimeoutError if it is still running)."""
        with self._lock:
            job = self._jobs.get(generation_id)
        if job is None:
            return GenerationOutcome.from_stored(self.store.load(generation_id))
        try:
            return job.future.result(timeout)
        except FutureTimeout:
            raise TimeoutError(f"generation {generation_id} is still running") from None

    def cancel(self, generation_id: uuid.UUID) -> bool:
        """Ask a queued or running generation to stop, wherever it runs: here at once, in
        another process at its runner's next write. False if it is not running here."""
        self.store.request_cancel(generation_id)
        with self._lock:
            job = self._jobs.get(generation_id)
        if job is None or job.future.done():
            return False
        job.cancel.set()
        return True

    def active(self) -> list[uuid.UUID]:
        """Generations of this service that are queued or running."""
        with self._lock:
            return [gid for gid, job in self._jobs.items() if not job.future.done()]

    def shutdown(self, *, cancel: bool = False) -> None:
        if self.sweeper is not None:
            self.sweeper.stop()
        if cancel:
            for generation_id in self.active():
                self.cancel(generation_id)
        self._pool.shutdown(wait=True)
