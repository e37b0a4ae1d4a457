"""Alembic environment for DuckDB and PostgreSQL.

Run two ways: from `planner.db.migrate` (the CLI, the dashboard, the library), which hands
over a connection of its `Database`; or by the standard `alembic` CLI at the repository
root (alembic.ini), which names no URL, so the database is the one planner is configured
for (PLANNER_DATABASE_URL, else the DuckDB file in PLANNER_HOME).
"""

from __future__ import annotations

import warnings

import sqlalchemy as sa
from alembic import context

from planner.config import Settings
from planner.db.database import Database
from planner.db.migrate import AlembicDuckDBImpl  # noqa: F401  (registers DuckDB with Alembic)
from planner.db.models import Base

# Known and handled by include_object below; repeating it on every check is noise.
warnings.filterwarnings("ignore", "duckdb-engine doesn't yet support reflection on indices")


def _on_duckdb() -> bool:
    return context.get_bind().dialect.name == "duckdb"


def include_object(obj, name, type_, reflected, compare_to) -> bool:  # noqa: ANN001
    # duckdb-engine reflects neither indexes nor unique constraints: comparing them on
    # DuckDB reports drift that is not there. PostgreSQL checks them. Procrastinate's
    # tables (PostgreSQL, migration 0005) are its own schema, not planner's models.
    if type_ == "table" and reflected and name.startswith("procrastinate_"):
        return False
    return not (type_ in {"index", "unique_constraint"} and _on_duckdb())


_PG_LOCK_KEY = 0x706C616E6E6572  # "planner"
_TEXTUAL = (sa.String, sa.Text, sa.JSON)


def compare_type(ctx, inspected_column, metadata_column, inspected_type, metadata_type):  # noqa: ANN001
    # DuckDB reflects TEXT and JSON columns as VARCHAR, and DOUBLE as FLOAT (duckdb-engine
    # 0.17); PostgreSQL tells them apart and checks them. Any other difference is real.
    both_textual = isinstance(inspected_type, _TEXTUAL) and isinstance(metadata_type, _TEXTUAL)
    both_float = isinstance(inspected_type, sa.Float) and isinstance(metadata_type, sa.Float)
    if (both_textual or both_float) and _on_duckdb():
        return False
    return None


def run_migrations() -> None:
    config = context.config
    url = config.get_main_option("sqlalchemy.url") or Settings.from_env().database_url
    given = config.attributes.get("connection")
    if given is not None:
        _configure_and_run(given)
        return
    # The standard `alembic` CLI: a Database of its own (it creates the DuckDB file's folder
    # and opens the file under planner's lock).
    with Database(url) as db, db.connect() as connection:
        _configure_and_run(connection)
        connection.commit()


def _configure_and_run(connection) -> None:  # noqa: ANN001
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        include_object=include_object,
        compare_type=compare_type,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Two processes starting at once must not both create the tables: the second
            # waits here, then finds the first one's work committed and does nothing.
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        context.run_migrations()


run_migrations()
