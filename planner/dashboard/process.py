"""The dashboard process's own start and stop, around every session's script runs.

`planner/dashboard/asgi.py` runs `start` as its app starts, before its first answer, and
`stop` as it stops (Streamlit's ASGI lifespan, on Ctrl-C or SIGTERM). Starting migrates
the database, marks the generations of processes that died `interrupted`, attaches the
publisher and hosts the Socket.IO endpoint, so clients can connect before anyone opens a
page; every script run's `shell.prepare` does the same (once each) and shows on the page
what failed. Stopping is `planner serve`'s hand-off: each generation this process runs
is left `interrupted` ("the process running it is shutting down") with its event,
resumable from its checkpoint by `planner resume` or any dashboard's Resume, instead of
being cut off mid-write as the process exits; an experiment running here starts no more
runs.
"""

from __future__ import annotations

import logging
import threading

from planner.dashboard import experiment_jobs
from planner.dashboard.resources import database, service, services
from planner.realtime import attach_publisher, start_realtime_in_thread

log = logging.getLogger(__name__)

_published = False
_publish_lock = threading.Lock()


def publish_generations() -> None:
    """With PLANNER_REDIS_URL, this process's generations reach every Socket.IO node (once)."""
    global _published
    with _publish_lock:
        if not _published:
            attach_publisher()
            _published = True


def start() -> None:
    """Prepare what every session shares; a failure is logged and left to the page."""
    try:
        db = database()
        db.ensure_schema()
        service().store.prepare()
        publish_generations()
        start_realtime_in_thread(db=db, service=service())
    except Exception as exc:  # noqa: BLE001 (the page shows it, with what to do)
        log.warning("the dashboard could not prepare at its start: %s", exc)


def stop() -> None:
    """Hand off this process's generations and stop its experiments (see the module)."""
    experiment_jobs.stop_all()
    for made in services():
        made.shutdown(hand_off=True)
