"""One planner process at a time inside a DuckDB file, guarded by a lock of our own.

DuckDB refuses a second process while one has the file open, but its hand-over is not
clean: a process that opens the file just as another closes it can read half-checkpointed
blocks (seen with duckdb 2.0.1 and three processes each opening, inserting and closing in
a loop: `IO Error: Could not read enough bytes from file ...`). So before DuckDB opens the
file, planner takes an exclusive `flock` on `<file>.lock`, and gives it back only after
DuckDB has closed the file completely. Inside one process the lock is counted: threads
share DuckDB's single database instance, and the first connection takes the lock, the
last one to close gives it back.

A busy lock raises `DuckDBFileBusy`, whose text matches DuckDB's own lock error, so
`with_lock_retry` waits for it the same way.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # Windows: DuckDB's own lock is all there is
    fcntl = None  # type: ignore[assignment]


class DuckDBFileBusy(OSError):
    """Another process holds planner's lock on the DuckDB file."""


class FileLock:
    """A per-process, counted, exclusive flock on `<database>.lock`."""

    def __init__(self, database: Path) -> None:
        self.database = database
        self.path = database.with_name(database.name + ".lock")
        self.mutex = threading.RLock()
        self._fd: int | None = None
        self._users = 0

    def acquire(self) -> None:
        with self.mutex:
            if self._users == 0 and fcntl is not None:
                self._fd = self._lock_file()
            self._users += 1

    def release(self) -> None:
        with self.mutex:
            self._users -= 1
            if self._users == 0 and self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
                os.close(self._fd)
                self._fd = None

    def _lock_file(self) -> int:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise DuckDBFileBusy(
                f'Could not set lock on file "{self.database}": Conflicting lock is held in '
                f"{holder}"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{Path(sys.argv[0] or 'python').name} (PID {os.getpid()})".encode(), 0)
        return fd


def _read_holder(fd: int) -> str:
    try:
        return os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
    except OSError:
        return "another process"


class LockedConnection:
    """A DBAPI connection that gives the file lock back once it is really closed."""

    def __init__(self, inner: Any, lock: FileLock) -> None:
        object.__setattr__(self, "_inner", inner)
        object.__setattr__(self, "_lock", lock)
        object.__setattr__(self, "_released", False)

    def close(self) -> None:
        with self._lock.mutex:
            try:
                self._inner.close()
            finally:
                if not self._released:
                    object.__setattr__(self, "_released", True)
                    self._lock.release()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._inner, name, value)


_locks: dict[Path, FileLock] = {}
_locks_mutex = threading.Lock()


def lock_for(database: Path) -> FileLock:
    """The process-wide lock object of one DuckDB file."""
    key = database.resolve()
    with _locks_mutex:
        if key not in _locks:
            _locks[key] = FileLock(key)
        return _locks[key]


def connect_locked(dialect: Any, lock: FileLock, cargs: Any, cparams: Any) -> LockedConnection:
    """Take the lock, then let DuckDB open the file; undo the lock if that fails."""
    with lock.mutex:
        lock.acquire()
        try:
            return LockedConnection(dialect.connect(*cargs, **cparams), lock)
        except BaseException:
            lock.release()
            raise
