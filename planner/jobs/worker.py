"""A Procrastinate worker running planner's jobs in this process.

Generations are synchronous code (the SDK streams on a thread), so Procrastinate runs
each job on the event loop's default executor; the worker gives that executor a thread
per job it may run at once (`concurrency`), or 100 concurrent generations would queue
behind asyncio's default of a few threads. Procrastinate's worker heartbeat follows
planner's own (PLANNER_HEARTBEAT_S / PLANNER_LEASE_TTL_S); the generations' liveness is
their leases, swept by the periodic `planner:sweep` job and by a `Sweeper` thread of each
worker. The thread is what detection relies on: Procrastinate defers periodic jobs under
a row lock, and a worker paused inside that transaction (SIGSTOP, a VM freeze) stalls
every other worker's periodic deferrer until it wakes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from planner.config import get_settings
from planner.db import Database
from planner.events import EventBus
from planner.jobs import running
from planner.jobs.app import make_app
from planner.jobs.queues import QUEUES

# Threads beyond the jobs' own: the sweep and Procrastinate's synchronous helpers.
SPARE_THREADS = 4


def run_worker(
    db: Database,
    *,
    bus: EventBus,
    concurrency: int = 4,
    queues: Sequence[str] | None = None,
    name: str | None = None,
) -> None:
    """Run jobs until SIGINT/SIGTERM: Procrastinate's graceful shutdown, which stops taking
    jobs and gives running ones PLANNER_SHUTDOWN_GRACE_S (default 0) before their
    generations are handed to the other workers."""
    settings = get_settings()
    db.ensure_schema()
    app = make_app(db)
    deferring = make_app(db)
    sweeper = running.sweeper(db, deferring, bus=bus)

    async def main() -> None:
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(concurrency + SPARE_THREADS, thread_name_prefix="job")
        )
        async with app.open_async():
            await app.run_worker_async(
                concurrency=concurrency,
                queues=list(queues or QUEUES),
                name=name,
                # The open app defers on its own pool; deferring on a caller's connection
                # (the sweep's resumes, in the transaction that reads the run) needs an
                # app whose connector is synchronous: one not opened.
                additional_context={
                    "db": db,
                    "bus": bus,
                    "deferring": deferring,
                    "sweeper": sweeper,
                },
                update_heartbeat_interval=settings.heartbeat_s,
                stalled_worker_timeout=settings.lease_ttl_s,
                delete_jobs="successful",
                # then its running jobs are aborted for shutdown: their generations are
                # handed to the other workers (planner.jobs.tasks), not waited for
                shutdown_graceful_timeout=settings.shutdown_grace_s,
            )

    sweeper.start()
    try:
        asyncio.run(main())
    finally:
        sweeper.stop()
