"""Which database a notebook studies, and a scratch one when it must make its own data.

A notebook runs in `notebooks/`, so the default data folder (`./.planner`) would be
`notebooks/.planner`, not the dashboard's. `user_database()` opens the dashboard's data:
`PLANNER_HOME` (or `PLANNER_DATABASE_URL`) when set, else the `.planner` folder of the
checkout the notebook sits in, the one `make run` uses. It never creates or migrates it:
a notebook writes to a person's database only when its parameter says so. When there is
nothing to study, `scratch_database()` is a temporary DuckDB file, removed at exit, for
the notebook's own small data.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

from planner.config import Settings
from planner.db import Database

CHECKOUT_MARKERS = ("pyproject.toml", "notebooks")


def data_folder(start: Path | None = None) -> Path:
    """PLANNER_HOME, else the `.planner` of the enclosing checkout, else `./.planner`."""
    if os.environ.get("PLANNER_HOME"):
        return Path(os.environ["PLANNER_HOME"]).expanduser().resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if all((folder / marker).exists() for marker in CHECKOUT_MARKERS):
            return folder / ".planner"
    return here / ".planner"


def user_database(start: Path | None = None) -> Database | None:
    """The dashboard's database, or None when it does not exist yet (nothing is created)."""
    environ = {**os.environ, "PLANNER_HOME": str(data_folder(start))}
    settings = Settings.from_env(environ)
    if settings.database_url.startswith("duckdb:///"):
        path = Path(settings.database_url.removeprefix("duckdb:///"))
        if not path.exists():
            return None
    return Database(settings.database_url)


def scratch_database() -> Database:
    """A new, migrated DuckDB database in a temporary folder removed when Python exits."""
    folder = Path(tempfile.mkdtemp(prefix="planner-notebook-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    db = Database(f"duckdb:///{folder / 'planner.duckdb'}")
    atexit.register(db.close)
    db.ensure_schema()
    return db
