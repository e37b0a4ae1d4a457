"""One planner process at a time inside a DuckDB file, guarded by a lock of our own.

DuckDB refuses a second process while one has the file open, but its hand-over is not
clean: a process that opens the file just as another closes it can read half-checkpointed
blocks (seen with duckdb 2.0.1 and three processes each opening, inserting and closing in
a loop: `IO Error: Could not read enough bytes from file ...`). So before DuckDB opens the
file, planner takes an exclusive lock on `<file>.lock` (filelock's flock, with the holder
written into the file), and gives it back only after DuckDB has closed the file
completely. Inside one process the lock is counted: threads share DuckDB's single
database instance, and the first connection takes the lock, the last one to close gives
it back. Opening and closing are serialised per file (`FileGuard.mutex`), so a
connection never opens while another thread's close is still shutting the instance down.

A busy lock raises `DuckDBFileBusy`, whose text matches DuckDB's own lock error, so the
lock retry (`planner.db.retry`) waits for it the same way.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import Any

import filelock

from planner.errors import DatabaseError


class DuckDBFileBusy(DatabaseError, OSError):
    """Another process holds planner's lock on the DuckDB file."""


def _write_holder(fd: int) -> None:
    """Called by filelock once the lock is ours: say who holds it, for the others' errors."""
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{Path(sys.argv[0] or 'python').name} (PID {os.getpid()})".encode(), 0)


class FileGuard:
    """The process-wide lock of one DuckDB file: counted, exclusive between processes."""

    def __init__(self, database: Path) -> None:
        self.database = database
        self.path = database.with_name(database.name + ".lock")
        self.mutex = threading.RLock()
        self._lock = filelock.FileLock(
            self.path,
            mode=0o600,  # it names the holder only; nobody else needs to read it
            thread_local=False,  # one count for the whole process: threads share the file
            is_singleton=True,
            preserve_lock_file=True,  # the holder's name stays readable for the others
            on_acquired=_write_holder,
        )

    def acquire(self) -> None:
        try:
            self._lock.acquire(timeout=0)
        except filelock.Timeout:
            raise DuckDBFileBusy(
                f'Could not set lock on file "{self.database}": Conflicting lock is held in '
                f"{self._holder()}"
            ) from None

    def release(self) -> None:
        self._lock.release()

    @property
    def held(self) -> bool:
        """Whether this process holds the file now."""
        return self._lock.is_locked

    def _holder(self) -> str:
        try:
            return self.path.read_text(errors="replace").strip() or "another process"
        except OSError:
            return "another process"


_guards: dict[Path, FileGuard] = {}
_guards_mutex = threading.Lock()


def guard_for(database: Path) -> FileGuard:
    """The one guard of a DuckDB file in this process, whichever Database asks."""
    key = database.resolve()
    with _guards_mutex:
        if key not in _guards:
            _guards[key] = FileGuard(key)
        return _guards[key]


class LockedConnection:
    """A DBAPI connection that gives the file lock back once it is really closed."""

    def __init__(self, inner: Any, guard: FileGuard) -> None:
        object.__setattr__(self, "_inner", inner)
        object.__setattr__(self, "_guard", guard)
        object.__setattr__(self, "_released", False)

    def close(self) -> None:
        with self._guard.mutex:
            try:
                self._inner.close()
            finally:
                if not self._released:
                    object.__setattr__(self, "_released", True)
                    self._guard.release()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._inner, name, value)


def connect_locked(guard: FileGuard, connect: Any) -> LockedConnection:
    """Take the lock, then let DuckDB open the file (`connect()`); undo the lock if that fails."""
    with guard.mutex:
        guard.acquire()
        try:
            return LockedConnection(connect(), guard)
        except BaseException:
            guard.release()
            raise
