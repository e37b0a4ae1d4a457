"""Engines and sessions from `PLANNER_DATABASE_URL`.

DuckDB lets one process hold a file while anything writes, so every connection is
short-lived (`NullPool`) and lock conflicts are retried with backoff (`with_lock_retry`).
PostgreSQL gets an ordinary pool.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from planner.config import get_settings

T = TypeVar("T")

LOCK_RETRY_SECONDS = 30.0


class DatabaseLockedError(RuntimeError):
    """Another process kept the DuckDB file locked for longer than we were willing to wait."""


def is_duckdb(url: str) -> bool:
    return make_url(url).get_backend_name() == "duckdb"


def _is_lock_conflict(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "could not set lock" in text or "conflicting lock" in text or (
        "lock" in text and "duckdb" in type(getattr(exc, "orig", exc)).__module__
    )


def with_lock_retry(
    operation: Callable[[], T],
    *,
    timeout_s: float = LOCK_RETRY_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Run `operation`, retrying DuckDB lock conflicts with jittered exponential backoff."""
    deadline = clock() + timeout_s
    delay = 0.01
    while True:
        try:
            return operation()
        except Exception as exc:
            if not _is_lock_conflict(exc):
                raise
            if clock() >= deadline:
                raise DatabaseLockedError(
                    f"the database file stayed locked by another process for {timeout_s:.0f} s; "
                    "close the other planner process or use PostgreSQL for shared use"
                ) from exc
            sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 0.5)


_engines: dict[str, Engine] = {}


def _engine_for(url: str) -> Engine:
    if url in _engines:
        return _engines[url]
    if is_duckdb(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, poolclass=NullPool)
    else:
        engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    _engines[url] = engine
    return engine


def get_engine(url: str | None = None) -> Engine:
    return _engine_for(url or get_settings().database_url)


def dispose_engines() -> None:
    """Close every pooled connection (tests switch databases between cases)."""
    while _engines:
        _engines.popitem()[1].dispose()


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
