"""Engines and sessions from `PLANNER_DATABASE_URL`.

DuckDB lets one process hold a file while anything writes, so every connection is
short-lived (`NullPool`), opened under planner's own file lock (`duckdb_lock`), and lock
conflicts are retried with backoff (`with_lock_retry`). PostgreSQL gets an ordinary pool.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from planner.config import get_settings
from planner.db.duckdb_lock import connect_locked, lock_for

T = TypeVar("T")

LOCK_RETRY_SECONDS = 30.0
FIRST_DELAY_S = 0.01
MAX_DELAY_S = 0.5

# DuckDB's own words (checked against duckdb 1.5/2.0 by opening one file from two
# processes): `IO Error: Could not set lock on file "...": Conflicting lock is held in
# /usr/bin/python3 (PID 123)`. Inside one process, concurrent writers instead meet
# optimistic-concurrency conflicts, which DuckDB says to retry as well.
_LOCK_MARKERS = ("could not set lock on file", "conflicting lock is held")
_CONFLICT_MARKERS = ("write-write conflict", "transactioncontext error: conflict")
_HOLDER = re.compile(r"Conflicting lock is held in (.+?) \(PID (\d+)\)")


class DatabaseLockedError(RuntimeError):
    """Another process kept the DuckDB file locked for longer than we were willing to wait."""


def is_duckdb(url: str) -> bool:
    return make_url(url).get_backend_name() == "duckdb"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, the DBAPI error SQLAlchemy wraps, and their causes."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending += [getattr(current, "orig", None), current.__cause__, current.__context__]


def is_lock_conflict(exc: BaseException) -> bool:
    """True for DuckDB's file-lock and transaction-conflict errors (worth retrying)."""
    for error in _chain(exc):
        text = str(error).lower()
        if any(marker in text for marker in _LOCK_MARKERS + _CONFLICT_MARKERS):
            return True
    return False


def _holder(exc: BaseException) -> str:
    for error in _chain(exc):
        found = _HOLDER.search(str(error))
        if found:
            return f" (held by PID {found.group(2)}, {found.group(1)})"
    return ""


def with_lock_retry(
    operation: Callable[[], T],
    *,
    timeout_s: float = LOCK_RETRY_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Run `operation`, retrying DuckDB lock conflicts with jittered exponential backoff.

    `operation` must be a whole unit of work (open a session, do it, commit): it may run
    several times. After `timeout_s` of conflicts it raises DatabaseLockedError.
    """
    deadline = clock() + timeout_s
    delay = FIRST_DELAY_S
    attempts = 0
    while True:
        attempts += 1
        try:
            return operation()
        except Exception as exc:
            if not is_lock_conflict(exc):
                raise
            remaining = deadline - clock()
            if remaining <= 0:
                raise DatabaseLockedError(
                    f"the database stayed locked by another process{_holder(exc)} for "
                    f"{timeout_s:g} s ({attempts} attempts); close that process, or set "
                    "PLANNER_DATABASE_URL to PostgreSQL for shared use"
                ) from exc
            sleep(min(remaining, delay * (0.5 + random.random())))
            delay = min(delay * 2, MAX_DELAY_S)


_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def _engine_for(url: str) -> Engine:
    with _engines_lock:
        if url not in _engines:
            _engines[url] = _create_engine(url)
        return _engines[url]


def _create_engine(url: str) -> Engine:
    if not is_duckdb(url):
        return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    engine = create_engine(url, poolclass=NullPool)
    database = make_url(url).database
    if database and database != ":memory:":
        path = Path(database).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = lock_for(path)

        @event.listens_for(engine, "do_connect")
        def _connect_under_file_lock(dialect, record, cargs, cparams):  # noqa: ANN001, ANN202
            return connect_locked(dialect, lock, cargs, cparams)

    return engine


def get_engine(url: str | None = None) -> Engine:
    return _engine_for(url or get_settings().database_url)


def dispose_engines() -> None:
    """Close every pooled connection (tests switch databases between cases)."""
    with _engines_lock:
        engines = list(_engines.values())
        _engines.clear()
    for engine in engines:
        engine.dispose()


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """One transaction: commit on success, roll back on error, always close."""
    factory = sessionmaker(bind=get_engine(url), expire_on_commit=False)
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def run_in_session(
    operation: Callable[[Session], T],
    url: str | None = None,
    *,
    timeout_s: float = LOCK_RETRY_SECONDS,
) -> T:
    """`operation(session)` in one transaction, retried as a whole on DuckDB lock conflicts."""

    def attempt() -> T:
        with session_scope(url) as session:
            return operation(session)

    return with_lock_retry(attempt, timeout_s=timeout_s)
