"""The DuckDB file and its WAL are created and kept 0600 (see `planner.private_files`).

DuckDB creates its files with the process umask (0644 under the usual 022) and has no
setting for their mode, so:
- a new DuckDB file is initialised under a private temporary name, set to 0600, then
  linked into place, so it is never readable by others, not even empty;
- an existing file and its WAL are narrowed to 0600 whenever planner opens or returns a
  connection: DuckDB makes the WAL anew (with the umask) after every checkpoint, so
  planner narrows it after each unit of work; in between, the 0700 folder keeps others out.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

import duckdb

from planner.private_files import FILE_MODE, narrow


def create_private_duckdb(path: Path) -> None:
    """Make `path` a new, empty DuckDB database of mode 0600, unless it exists already.

    DuckDB refuses an empty file it did not write, so the database is initialised under a
    temporary name in the same folder and hard-linked into place (another process that
    was first keeps its file).
    """
    if path.exists():
        return
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.new")
    try:
        duckdb.connect(str(temporary)).close()
        os.chmod(temporary, FILE_MODE)
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
        temporary.with_name(temporary.name + ".wal").unlink(missing_ok=True)


def narrow_duckdb_files(path: Path) -> None:
    """The DuckDB file and its WAL to 0600 (each only if it exists and is ours)."""
    narrow(path, FILE_MODE)
    narrow(path.with_name(path.name + ".wal"), FILE_MODE)
