"""Alembic environment for DuckDB and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from planner.db.migrate import AlembicDuckDBImpl  # noqa: F401  (registers DuckDB with Alembic)
from planner.db.models import Base


def _on_duckdb() -> bool:
    return context.get_bind().dialect.name == "duckdb"


def include_object(obj, name, type_, reflected, compare_to) -> bool:  # noqa: ANN001
    # duckdb-engine reflects neither indexes nor unique constraints: comparing them on
    # DuckDB reports drift that is not there. PostgreSQL checks them.
    return not (type_ in {"index", "unique_constraint"} and _on_duckdb())


_PG_LOCK_KEY = 0x706C616E6E6572  # "planner"
_TEXTUAL = (sa.String, sa.Text, sa.JSON)


def compare_type(ctx, inspected_column, metadata_column, inspected_type, metadata_type):  # noqa: ANN001
    # DuckDB reflects TEXT and JSON columns as VARCHAR; any other difference is real.
    both_textual = isinstance(inspected_type, _TEXTUAL) and isinstance(metadata_type, _TEXTUAL)
    if both_textual and _on_duckdb():
        return False
    return None


def run_migrations() -> None:
    config = context.config
    url = config.get_main_option("sqlalchemy.url")
    connectable = config.attributes.get("connection") or create_engine(url, poolclass=NullPool)
    if hasattr(connectable, "connect") and not hasattr(connectable, "execute"):
        with connectable.connect() as connection:
            _configure_and_run(connection)
        connectable.dispose()
    else:
        _configure_and_run(connectable)


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
