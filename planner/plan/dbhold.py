"""Keep a DuckDB file open across a burst of short transactions.

Connections to DuckDB are short-lived (NullPool) so other processes can use the file
between writes, but opening the file costs tens of milliseconds. Where a generation
runs several transactions back to back (creating its row, storing the discovery,
saving the plan and closing its record), `held_open` keeps one connection open for the
burst: the transactions inside share the open database and the file is released right
after. On PostgreSQL it does nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from planner.db import get_engine, is_duckdb, with_lock_retry


@contextmanager
def held_open(database_url: str) -> Iterator[None]:
    if not is_duckdb(database_url):
        yield
        return
    connection = with_lock_retry(get_engine(database_url).raw_connection)
    try:
        yield
    finally:
        connection.close()
