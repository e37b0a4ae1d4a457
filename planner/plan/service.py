"""Generations in the background: start returns the id at once, a pool limits concurrency.

The dashboard, the Socket.IO endpoint and the CLI share this: `start(request)` validates
and stores the generation (status `queued`) in the caller's thread, so bad input is
refused right there and the id is real; a worker runs it when a slot is free. `cancel`
stops a queued generation before it starts and a running one at its next chunk; it ends
`failed` with "cancelled before it finished". Progress goes out on the event bus.

Each user may have at most `max_active_per_user` generations queued or running in one
service (PLANNER_MAX_ACTIVE_GENERATIONS, 3 by default): one more is refused at once with
`TooManyGenerations`, before anything is stored, so one user cannot fill the queue that
everyone shares.

A front end makes one service for its process (the dashboard per server, `planner serve`
for its endpoint) on the Database it made.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field

from planner.config import get_settings
from planner.db import Database
from planner.errors import ConflictError, InputError
from planner.events import EventBus, default_bus
from planner.plan.request import GenerationOutcome, GenerationRequest, GenerationRequestError
from planner.plan.runner import create, execute, resume_generation
from planner.plan.sweep import Sweeper
from planner.store import (
    GenerationSpec,
    GenerationStatus,
    GenerationStore,
    claim,
    held_here,
    release,
)
from planner.store.liveness import SHUTDOWN_REASON

DEFAULT_MAX_CONCURRENT = 4

log = logging.getLogger(__name__)


class TooManyGenerations(GenerationRequestError, ConflictError):
    """The user already has as many generations queued or running as they may."""

    def __init__(self, active: int, limit: int) -> None:
        super().__init__(
            [
                f"you already have {active} generations queued or running; the limit is "
                f"{limit}: wait for one to finish or cancel one"
            ]
        )


@dataclass
class _Job:
    future: Future[GenerationOutcome]
    cancel: threading.Event = field(default_factory=threading.Event)
    user_id: uuid.UUID | None = None


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
        max_active_per_user: int | None = None,
    ) -> None:
        if max_concurrent < 1:
            raise InputError(f"max_concurrent must be at least 1, not {max_concurrent}")
        if max_active_per_user is None:
            max_active_per_user = get_settings().max_active_generations
        if max_active_per_user < 1:
            raise InputError(f"max_active_per_user must be at least 1, not {max_active_per_user}")
        self.max_concurrent = max_concurrent
        self.max_active_per_user = max_active_per_user
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
        self._starting: dict[uuid.UUID, int] = {}  # starts between the check and the submit

    def _active_of(self, user_id: uuid.UUID) -> int:
        """The user's generations queued or running: in the database when they run as jobs
        (any node's count), else this service's own."""
        if self._enqueue is not None:
            return self.store.count_active(user_id)
        return sum(
            1 for job in self._jobs.values() if job.user_id == user_id and not job.future.done()
        )

    def start(self, request: GenerationRequest) -> uuid.UUID:
        """Store the generation and queue it (or enqueue its job); GenerationRequestError
        for bad input, TooManyGenerations when the user is at their cap."""
        user_id = request.user_id
        with self._lock:
            active = self._starting.get(user_id, 0) + self._active_of(user_id)
            if active >= self.max_active_per_user:
                raise TooManyGenerations(active, self.max_active_per_user)
            self._starting[user_id] = self._starting.get(user_id, 0) + 1
        try:
            if self._enqueue is not None:
                return self._enqueue(request)
            # Held here from before its row names this process as its owner until its run
            # ends: while it waits its turn, this process's own sweep must not take it for
            # a dead process's queued generation.
            with held_here(generation_id := uuid.uuid4()):
                spec = create(
                    self.store, request, status=GenerationStatus.QUEUED, generation_id=generation_id
                )
                return self._submit(
                    generation_id, lambda cancel: self._run(spec, cancel), user_id=user_id
                )
        finally:
            with self._lock:
                self._starting[user_id] -= 1
                if not self._starting[user_id]:
                    del self._starting[user_id]

    def resume(self, generation_id: uuid.UUID) -> uuid.UUID:
        """Queue the resume of an interrupted generation."""
        self.store.prepare()
        return self._submit(
            generation_id,
            lambda cancel: resume_generation(self.db, generation_id, bus=self.bus, cancel=cancel),
        )

    def _submit(
        self, generation_id: uuid.UUID, work, user_id: uuid.UUID | None = None
    ) -> uuid.UUID:  # noqa: ANN001
        cancel = threading.Event()
        with self._lock:
            future = self._pool.submit(work, cancel)
            self._jobs[generation_id] = _Job(future, cancel, user_id)
        claim(generation_id)  # released when the run ends, or its turn is cancelled
        future.add_done_callback(lambda _: release(generation_id))
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

    def shutdown(self, *, cancel: bool = False, hand_off: bool = False) -> None:
        """Stop: wait for this service's generations to end (the default), cancel them
        (`cancel`: they end `failed`), or leave them resumable without waiting (`hand_off`,
        what a server stopped by Ctrl-C or SIGTERM does): queued ones never start, and each
        is marked `interrupted` with its event, as the sweep would mark it after this
        process died, so `planner resume` or the dashboard's Resume continues it from its
        checkpoint. A running one stops at once, and its fenced lease lets it write nothing
        more."""
        if self.sweeper is not None:
            self.sweeper.stop()
        if hand_off:
            active = self.active()
            self._pool.shutdown(wait=False, cancel_futures=True)
            for generation_id in active:
                handed = self.store.hand_off(
                    generation_id, publish=self.bus.publish, reason=SHUTDOWN_REASON
                )
                with self._lock:
                    job = self._jobs.get(generation_id)
                if job is not None:
                    # Stop now, not at the next write: fenced, it writes nothing more (and
                    # the stored row is not asked to cancel).
                    job.cancel.set()
                if handed:
                    log.warning(
                        "generation %s: left interrupted as this process stops", generation_id
                    )
        elif cancel:
            for generation_id in self.active():
                self.cancel(generation_id)
        self._pool.shutdown(wait=True)
