"""Keep a DuckDB file open across a burst of short transactions, and a moment after.

Connections to DuckDB are short-lived so other processes can use the file between
writes, but opening the file costs about 10 ms of CPU; a connection opened while the
file is already open in this process costs well under one. `Linger` keeps one keeper
connection open while any thread is inside a `Database.held()` block and for `linger_s`
after the last one left: the transactions in between share the open file. A recording
writes DuckDB less often than the linger (see `planner.store.recording`), so during a
long generation the file is free most of the time; a fast one costs one open instead of
one per transaction. A dashboard page runs all its queries inside one hold.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

LINGER_S = 0.5


class Linger:
    """One lingering keeper connection (opened by `open_keeper`) and its users."""

    def __init__(self, open_keeper: Callable[[], Any], linger_s: float = LINGER_S) -> None:
        self._open_keeper = open_keeper
        self.linger_s = linger_s
        self._cond = threading.Condition()
        self._keeper: Any = None
        self._users = 0
        self._close_at = 0.0
        self._reaper: threading.Thread | None = None

    def acquire(self) -> None:
        with self._cond:
            self._users += 1
            if self._keeper is None:
                try:
                    self._keeper = self._open_keeper()
                except BaseException:
                    self._users -= 1
                    raise

    def release(self) -> None:
        with self._cond:
            self._users -= 1
            self._close_at = time.monotonic() + self.linger_s
            if self._reaper is None:
                self._reaper = threading.Thread(
                    target=self._reap, name="duckdb-linger", daemon=True
                )
                self._reaper.start()

    def close(self) -> None:
        """Close the keeper now (the Database is closing)."""
        with self._cond:
            self._close_at = 0.0
            self._cond.notify_all()
            if self._keeper is not None and self._users == 0:
                self._keeper.close()
                self._keeper = None

    def _reap(self) -> None:
        with self._cond:
            while True:
                wait = self._close_at - time.monotonic()
                if self._users == 0 and wait <= 0:
                    if self._keeper is not None:
                        self._keeper.close()
                        self._keeper = None
                    self._reaper = None
                    return
                self._cond.wait(max(wait, 0.05))
