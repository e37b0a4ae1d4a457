"""What every session of one dashboard process shares: its Database, generation service
and login throttle.

One of each per database URL and process, made on first use: every page of every session
passes the same `Database` to the library, and generations started in any session run on
one bounded pool whose events go out on the process's bus (where `process.start` attaches
the Socket.IO publisher: the core attaches no front end). They are plain process-wide
objects, not `st.cache_resource` ones, because the process's own start and stop
(`planner.dashboard.process`, outside any script run) use them too.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from planner import jobs
from planner.config import get_settings
from planner.db import Database
from planner.events import default_bus
from planner.plan import GenerationService
from planner.throttle import LoginThrottle, SignupThrottle

T = TypeVar("T")

_lock = threading.RLock()  # re-entrant: a service is made with its database
_made: dict[tuple[str, str], Any] = {}


def _shared(kind: str, make: Callable[[str], T]) -> T:
    url = get_settings().database_url
    with _lock:
        if (kind, url) not in _made:
            _made[(kind, url)] = make(url)
        return _made[(kind, url)]


def _service(url: str) -> GenerationService:
    db = database()
    # PostgreSQL: the Generate page enqueues jobs for `planner worker`s.
    enqueue = jobs.enqueuer(db) if jobs.uses_jobs(db) else None
    return GenerationService(db, bus=default_bus(), sweep=True, enqueue=enqueue)


def database() -> Database:
    """The configured database, one handle per process and URL."""
    return _shared("database", Database)


def service() -> GenerationService:
    """The process's generation service on the configured database."""
    return _shared("service", _service)


def services() -> list[GenerationService]:
    """Every generation service this process made (one per database URL it served)."""
    with _lock:
        return [made for (kind, _), made in _made.items() if kind == "service"]


def login_throttle() -> LoginThrottle:
    """The login limits (per account and per client), kept in the database: shared by every
    session and every dashboard process on it."""
    return _shared("login", lambda _: LoginThrottle(database()))


def signup_throttle() -> SignupThrottle:
    """The sign-up limit per client, kept in the database like the login limits."""
    return _shared("signup", lambda _: SignupThrottle(database()))
