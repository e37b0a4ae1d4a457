"""Run one SQLAlchemy statement and return a pandas DataFrame.

Every analysis query goes through here so that DuckDB lock conflicts are retried the
same way everywhere and connections stay short-lived.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import Executable

from planner.db import get_engine, with_lock_retry


def read_frame(statement: Executable, url: str | None = None) -> pd.DataFrame:
    """The rows of `statement` as a DataFrame (columns named by the statement's labels)."""

    def run() -> pd.DataFrame:
        with get_engine(url).connect() as connection:
            result = connection.execute(statement)
            return pd.DataFrame(result.fetchall(), columns=list(result.keys()))

    return with_lock_retry(run)


def read_scalar(statement: Executable, url: str | None = None) -> Any:
    def run() -> Any:
        with get_engine(url).connect() as connection:
            return connection.execute(statement).scalar()

    return with_lock_retry(run)


def read_one(statement: Executable, url: str | None = None) -> dict[str, Any] | None:
    """The first row as a dict, or None."""

    def run() -> dict[str, Any] | None:
        with get_engine(url).connect() as connection:
            row = connection.execute(statement).mappings().first()
            return dict(row) if row is not None else None

    return with_lock_retry(run)
