"""Run SQLAlchemy statements on the caller's Database and return pandas DataFrames.

Every analysis query goes through here, so DuckDB lock conflicts are retried the same
way everywhere and connections stay short-lived. Opening a DuckDB file costs about 10 ms,
far more than a page's small queries, so a caller that runs several (a dashboard page,
one poll of the live view) wraps them in `db.held()`: the file stays open across them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Executable

from planner.db import Database


def read_frame(db: Database, statement: Executable) -> pd.DataFrame:
    """The rows of `statement` as a DataFrame (columns named by the statement's labels)."""
    return read_frames(db, [statement])[0]


def read_frames(db: Database, statements: Sequence[Executable]) -> list[pd.DataFrame]:
    """Several statements on one connection, one DataFrame each."""

    def work(connection: Connection) -> list[pd.DataFrame]:
        frames = []
        for statement in statements:
            result = connection.execute(statement)
            frames.append(pd.DataFrame(result.fetchall(), columns=list(result.keys())))
        return frames

    return db.read(work)


def read_scalar(db: Database, statement: Executable) -> Any:
    return db.read(lambda connection: connection.execute(statement).scalar())


def read_one(db: Database, statement: Executable) -> dict[str, Any] | None:
    """The first row as a dict, or None."""

    def work(connection: Connection) -> dict[str, Any] | None:
        row = connection.execute(statement).mappings().first()
        return dict(row) if row is not None else None

    return db.read(work)
