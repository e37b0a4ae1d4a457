"""Planner's files are its owner's alone: folders 0700, secret and database files 0600.

The data folder holds the JWT secret and the DuckDB file (password hashes, every user's
plans). Every folder planner creates on the way to its data (PLANNER_HOME, a DuckDB
file's folder) is made 0700, and planner's own home is narrowed to 0700 when an older
version left it more open. A folder that already existed and is not planner's home is
left alone: a DuckDB URL may point into a shared folder the user chose. Without search
permission on the folder no file inside can be opened by others, whatever its own mode,
which covers the moments a file made by a library (DuckDB's WAL) is still 0644.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path

FOLDER_MODE = 0o700
FILE_MODE = 0o600


def private_folder(path: Path) -> Path:
    """Create `path` and any missing parents 0700; existing folders keep their mode."""
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process made it meanwhile
            folder.mkdir(mode=FOLDER_MODE)
        narrow(folder, FOLDER_MODE)
    if not path.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(path))
    return path


def narrow(path: Path, mode: int) -> None:
    """Take away every permission of group and others that `mode` does not give.

    Only for files this user owns; a vanished file (a WAL just checkpointed away) is fine.
    """
    with contextlib.suppress(FileNotFoundError, PermissionError):
        info = path.stat()
        if info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) & ~mode:
            os.chmod(path, stat.S_IMODE(info.st_mode) & mode)
