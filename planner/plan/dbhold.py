"""Keep a DuckDB file open across a burst of short transactions, and a moment after.

Connections to DuckDB are short-lived (NullPool) so other processes can use the file
between writes, but opening the file costs tens of milliseconds of CPU. `held_open`
keeps one connection open while any thread of this process is inside it and for
`LINGER_S` after the last one left: the transactions in between share the open
database. The recorder writes DuckDB less often than the linger (see
`planner.plan.recorder`), so during a long generation the file is free most of the
time; a fast one costs one open instead of one per transaction. On PostgreSQL it does
nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from planner.db import get_engine, is_duckdb, with_lock_retry

LINGER_S = 0.5


class _Holder:
    """One lingering connection to one DuckDB file."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.lock = threading.Lock()
        self.connection: Any = None
        self.users = 0
        self.close_at = 0.0
        self.reaper: threading.Thread | None = None

    def acquire(self) -> None:
        with self.lock:
            self.users += 1
            if self.connection is None:
                try:
                    self.connection = with_lock_retry(get_engine(self.url).raw_connection)
                except BaseException:
                    self.users -= 1
                    raise

    def release(self) -> None:
        with self.lock:
            self.users -= 1
            self.close_at = time.monotonic() + LINGER_S
            if self.reaper is None:
                self.reaper = threading.Thread(target=self._reap, name="duckdb-linger", daemon=True)
                self.reaper.start()

    def _reap(self) -> None:
        while True:
            with self.lock:
                wait = self.close_at - time.monotonic()
                if self.users == 0 and wait <= 0:
                    if self.connection is not None:
                        self.connection.close()
                        self.connection = None
                    self.reaper = None
                    return
            time.sleep(max(wait, 0.05))


_holders: dict[str, _Holder] = {}
_holders_lock = threading.Lock()


@contextmanager
def held_open(database_url: str) -> Iterator[None]:
    if not is_duckdb(database_url):
        yield
        return
    with _holders_lock:
        holder = _holders.setdefault(database_url, _Holder(database_url))
    holder.acquire()
    try:
        yield
    finally:
        holder.release()
