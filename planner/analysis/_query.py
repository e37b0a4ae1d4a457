"""Run SQLAlchemy statements and return pandas DataFrames.

Every analysis query goes through here so that DuckDB lock conflicts are retried the
same way everywhere and connections stay short-lived. Opening a DuckDB file costs tens
of milliseconds, far more than a page's small queries, so a caller that runs several
(a dashboard page, one poll of the live view) can wrap them in `shared_connection()`:
inside it every query reuses one connection, released when the block ends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

import pandas as pd
from sqlalchemy import Connection, Engine, Executable

from planner.db import get_engine, with_lock_retry

T = TypeVar("T")
_shared: ContextVar[tuple[Engine, Connection] | None] = ContextVar(
    "planner_analysis_connection", default=None
)


@contextmanager
def shared_connection(url: str | None = None) -> Iterator[None]:
    """Run the analysis queries of this block (on this database) over one connection."""
    if _shared.get() is not None:
        yield
        return
    engine = get_engine(url)
    connection = with_lock_retry(engine.connect)
    token = _shared.set((engine, connection))
    try:
        yield
    finally:
        _shared.reset(token)
        connection.close()


def _run(url: str | None, work: Callable[[Connection], T]) -> T:
    engine = get_engine(url)
    shared = _shared.get()
    if shared is not None and shared[0] is engine:
        return work(shared[1])

    def fresh() -> T:
        with engine.connect() as connection:
            return work(connection)

    return with_lock_retry(fresh)


def read_frame(statement: Executable, url: str | None = None) -> pd.DataFrame:
    """The rows of `statement` as a DataFrame (columns named by the statement's labels)."""
    return read_frames([statement], url)[0]


def read_frames(statements: Sequence[Executable], url: str | None = None) -> list[pd.DataFrame]:
    """Several statements on one connection, one DataFrame each."""

    def work(connection: Connection) -> list[pd.DataFrame]:
        frames = []
        for statement in statements:
            result = connection.execute(statement)
            frames.append(pd.DataFrame(result.fetchall(), columns=list(result.keys())))
        return frames

    return _run(url, work)


def read_scalar(statement: Executable, url: str | None = None) -> Any:
    return _run(url, lambda connection: connection.execute(statement).scalar())


def read_one(statement: Executable, url: str | None = None) -> dict[str, Any] | None:
    """The first row as a dict, or None."""

    def work(connection: Connection) -> dict[str, Any] | None:
        row = connection.execute(statement).mappings().first()
        return dict(row) if row is not None else None

    return _run(url, work)
