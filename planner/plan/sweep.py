"""The periodic sweep: generations whose runner died are found while the system runs.

Workers and long-lived processes (`planner serve`, the dashboard's host, `planner
generate` while it runs) each run a `Sweeper`: every `sweep_interval_s` it marks the
generations whose lease expired (or whose local owner process is gone) `interrupted`,
stores and publishes `masterplan_generation_interrupted`, and, when auto-resume is on
(PLANNER_AUTO_RESUME, default on) and it was given a way to, resumes them from their
checkpoint: in this process (DuckDB, one machine) or as a job any worker runs
(PostgreSQL). Of several sweepers, exactly one wins each generation (the store's fenced
interrupt), so a generation is resumed once.
"""

from __future__ import annotations

import atexit
import logging
import threading
import uuid
import weakref
from collections.abc import Callable

from planner.config import get_settings
from planner.db import Database
from planner.events import EventBus, default_bus
from planner.store import GenerationStore

log = logging.getLogger(__name__)

Resume = Callable[[uuid.UUID], object]


_running: weakref.WeakSet[Sweeper] = weakref.WeakSet()


def stop_all() -> None:
    """Stop every sweeper of this process (a test's, a cached dashboard service's)."""
    for sweeper in list(_running):
        sweeper.stop()


class Sweeper:
    """Sweeps one database on a thread of its own until `stop()`."""

    def __init__(
        self,
        db: Database,
        *,
        bus: EventBus | None = None,
        resume: Resume | None = None,
        interval_s: float | None = None,
        auto_resume: bool | None = None,
        also: Callable[[], object] | None = None,
    ) -> None:
        settings = get_settings()
        self.store = GenerationStore(db)
        self.bus = bus or default_bus()
        self.auto_resume = settings.auto_resume if auto_resume is None else auto_resume
        self.resume = resume if self.auto_resume else None
        self.interval_s = settings.sweep_interval_s if interval_s is None else interval_s
        self.also = also  # more work each round (a worker's requeue of stranded jobs)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def sweep(self) -> list[uuid.UUID]:
        """One round: interrupt the abandoned, resume them if asked; returns their ids."""
        interrupted = self.store.mark_interrupted(publish=self.bus.publish)
        for generation_id in interrupted:
            log.warning("generation %s: its runner stopped; marked interrupted", generation_id)
            self._resume(generation_id)
        if self.also is not None:
            self.also()
        return interrupted

    def hand_off(self, generation_id: uuid.UUID) -> bool:
        """Give a generation this process runs to the others now (its worker shuts down):
        interrupted, published and, with auto-resume on, resumed elsewhere as a dead
        runner's would be. False when it had already ended or moved."""
        if not self.store.hand_off(generation_id, publish=self.bus.publish):
            return False
        log.warning("generation %s: handed off as its worker shuts down", generation_id)
        self._resume(generation_id)
        return True

    def _resume(self, generation_id: uuid.UUID) -> None:
        """With auto-resume on, resume an interrupted generation (a failure is logged: the
        generation stays interrupted, for `planner resume`)."""
        if self.resume is None:
            return
        try:
            self.resume(generation_id)
        except Exception:
            log.exception("generation %s: could not be resumed", generation_id)

    def start(self) -> Sweeper:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="sweeper", daemon=True)
            self._thread.start()
            # A daemon thread inside DuckDB when the interpreter finalises aborts the process
            # ("terminate called after throwing an instance of ''", exit 134): a process
            # that never stopped its sweeper (a Streamlit resource, a test) stops it at exit.
            atexit.register(self.stop)
            _running.add(self)
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.sweep()
            except Exception:
                log.exception("the liveness sweep failed; trying again")

    def stop(self) -> None:
        atexit.unregister(self.stop)
        _running.discard(self)
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
