"""Alembic from code: `upgrade()` brings any configured database to head.

`ensure_schema()` is what the CLI, the dashboard and the library call on start: the first
call per process and database compares the stored revision with the newest script and
migrates only when they differ; later calls cost nothing. On PostgreSQL, migrations
serialise on an advisory lock (migrations/env.py) so two processes starting together do
not both create the tables; on DuckDB the file lock already does.
"""

from __future__ import annotations

import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.ddl.impl import DefaultImpl
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from planner.config import get_settings
from planner.db.engine import get_engine, with_lock_retry

MIGRATIONS = Path(__file__).resolve().parent.parent.parent / "migrations"


class AlembicDuckDBImpl(DefaultImpl):
    """duckdb-engine ships no Alembic implementation; the default one fits."""

    __dialect__ = "duckdb"


_schema_lock = threading.Lock()
_at_head: set[str] = set()


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser interpolation would eat a '%' of a password in the URL.
    config.set_main_option(
        "sqlalchemy.url", (url or get_settings().database_url).replace("%", "%%")
    )
    return config


def head_revision() -> str | None:
    """The newest migration script's revision."""
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def current_revision(url: str | None = None) -> str | None:
    """The revision the database is at (None: empty or never migrated)."""

    def read() -> str | None:
        with get_engine(url).connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    return with_lock_retry(read)


def upgrade(url: str | None = None, revision: str = "head") -> None:
    config = alembic_config(url)
    _at_head.discard(url or get_settings().database_url)
    with_lock_retry(lambda: command.upgrade(config, revision))


def downgrade(url: str | None = None, revision: str = "base") -> None:
    config = alembic_config(url)
    _at_head.discard(url or get_settings().database_url)
    with_lock_retry(lambda: command.downgrade(config, revision))


def ensure_schema(url: str | None = None) -> None:
    """Migrate the database to head if it is not there yet; cheap when it already is."""
    resolved = url or get_settings().database_url
    if resolved in _at_head:
        return
    with _schema_lock:
        if resolved in _at_head:
            return
        if current_revision(resolved) != head_revision():
            upgrade(resolved)
        _at_head.add(resolved)
