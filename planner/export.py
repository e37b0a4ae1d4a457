"""Parquet export of the recorded tables, for pandas, DuckDB or any other tool.

Each table is read in batches (a server-side cursor on PostgreSQL, DuckDB's native
Arrow record batches on DuckDB) and written batch by batch with one `ParquetWriter`, so
a chunk table larger than memory exports in constant memory. The Arrow schema comes from
the ORM columns: UUIDs become strings, JSON columns become JSON text, timestamps stay
naive UTC microseconds. Files are written under a temporary name and renamed when complete, so a
failed export never leaves a truncated file behind.

With `user_id`, every table holds only that user's rows: a table without a `user_id`
column is filtered through the row it belongs to (`OWNER_PATHS`), so an export for one
user never carries another's text.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa

from planner.db import Base, Database
from planner.errors import ConflictError, InputError

EXPORT_TABLES: tuple[str, ...] = (
    "generations",
    "generation_attempts",
    "generation_chunks",
    "generation_events",
    "experiments",
    "experiment_runs",
    "discovery_documents",
    "masterplans",
    "masterplan_phases",
    "masterplan_milestones",
    "masterplan_tasks",
    "masterplan_subtasks",
)
# table -> (its column, the owning table): the way up to a table with `user_id`.
OWNER_PATHS: dict[str, tuple[str, str]] = {
    "generation_attempts": ("generation_id", "generations"),
    "generation_chunks": ("generation_id", "generations"),
    "generation_events": ("generation_id", "generations"),
    "experiment_runs": ("experiment_id", "experiments"),
    "masterplan_phases": ("masterplan_id", "masterplans"),
    "masterplan_milestones": ("masterplan_id", "masterplans"),
    "masterplan_tasks": ("masterplan_id", "masterplans"),
    "masterplan_subtasks": ("masterplan_id", "masterplans"),
}
DEFAULT_BATCH_ROWS = 50_000


class ExportError(InputError):
    """The export cannot run as asked; the message says why and what to do."""


class ExportTargetTaken(ConflictError, ExportError):
    """The target directory already holds exported files (and no overwrite was asked)."""


@dataclass(frozen=True)
class ExportedTable:
    table: str
    path: Path
    rows: int


def _arrow_type(column: sa.Column[Any]) -> tuple[pa.DataType, Callable[[Any], Any] | None]:
    """The Arrow type of a column and how to convert one Python value to it."""
    kind = column.type
    if isinstance(kind, sa.Uuid):
        return pa.string(), lambda value: str(value) if isinstance(value, uuid.UUID) else value
    if isinstance(kind, sa.JSON):
        return pa.string(), lambda value: value if isinstance(value, str) else json.dumps(value)
    if isinstance(kind, sa.Boolean):
        return pa.bool_(), None
    if isinstance(kind, sa.Integer):
        return pa.int64(), None
    if isinstance(kind, sa.Float):
        return pa.float64(), None
    if isinstance(kind, sa.DateTime):
        return pa.timestamp("us"), None
    return pa.string(), None


def arrow_schema(table: sa.Table) -> pa.Schema:
    return pa.schema(
        [pa.field(c.name, _arrow_type(c)[0], nullable=bool(c.nullable)) for c in table.columns]
    )


def _to_batch(table: sa.Table, schema: pa.Schema, rows: Iterable[sa.Row[Any]]) -> pa.RecordBatch:
    converters = [_arrow_type(c)[1] for c in table.columns]
    columns: list[list[Any]] = [[] for _ in converters]
    for row in rows:
        for index, value in enumerate(row):
            convert = converters[index]
            columns[index].append(convert(value) if convert and value is not None else value)
    arrays = [
        pa.array(values, type=field.type) for values, field in zip(columns, schema, strict=True)
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _order_of(table: sa.Table) -> list[sa.Column[Any]]:
    return list(table.primary_key.columns)


def owned_by(table: sa.Table, user_id: uuid.UUID) -> sa.ColumnElement[bool]:
    """The rows of `table` that belong to `user_id`."""
    if "user_id" in table.columns:
        return table.c.user_id == user_id
    column, owner_name = OWNER_PATHS[table.name]
    owner = Base.metadata.tables[owner_name]
    return table.c[column].in_(sa.select(owner.c.id).where(owner.c.user_id == user_id))


def _sqlalchemy_batches(
    engine: sa.Engine,
    table: sa.Table,
    schema: pa.Schema,
    batch_rows: int,
    user_id: uuid.UUID | None,
) -> Iterator[pa.RecordBatch]:
    """Any database: a server-side cursor (PostgreSQL) read `batch_rows` rows at a time."""
    query = sa.select(table).order_by(*_order_of(table))
    if user_id is not None:
        query = query.where(owned_by(table, user_id))
    with engine.connect() as connection:
        result = connection.execution_options(yield_per=batch_rows).execute(query)
        for rows in result.partitions(batch_rows):
            yield _to_batch(table, schema, rows)


def _duckdb_batches(
    engine: sa.Engine,
    table: sa.Table,
    schema: pa.Schema,
    batch_rows: int,
    user_id: uuid.UUID | None,
) -> Iterator[pa.RecordBatch]:
    """DuckDB hands Arrow batches over natively: no Python object per value."""
    columns = ", ".join(
        f'CAST("{c.name}" AS VARCHAR) AS "{c.name}"'
        if isinstance(c.type, sa.Uuid | sa.JSON)
        else f'"{c.name}"'
        for c in table.columns
    )
    order = ", ".join(f'"{c.name}"' for c in _order_of(table))
    where = ""
    if user_id is not None:  # a UUID's text is only hex digits and dashes
        owner = f"'{uuid.UUID(str(user_id))}'::UUID"
        if "user_id" in table.columns:
            where = f"WHERE user_id = {owner}"
        else:
            column, owner_table = OWNER_PATHS[table.name]
            where = f'WHERE "{column}" IN (SELECT id FROM {owner_table} WHERE user_id = {owner})'
    raw = engine.raw_connection()
    try:
        cursor = raw.driver_connection
        assert cursor is not None
        cursor.execute("SET enable_progress_bar = false")
        reader = cursor.sql(
            f'SELECT {columns} FROM "{table.name}" {where} ORDER BY {order}'
        ).to_arrow_reader(batch_rows)
        for batch in reader:
            yield from pa.Table.from_batches([batch]).cast(schema).to_batches()
    finally:
        raw.close()


def export_table(
    db: Database,
    name: str,
    directory: Path,
    *,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    user_id: uuid.UUID | None = None,
) -> ExportedTable:
    """Write one table (only `user_id`'s rows, if given) to `directory/<name>.parquet`."""
    table = Base.metadata.tables[name]
    schema = arrow_schema(table)
    target = directory / f"{name}.parquet"
    partial = directory / f".{name}.parquet.partial"
    rows = 0
    batches = _duckdb_batches if db.is_duckdb else _sqlalchemy_batches
    try:
        with pq.ParquetWriter(partial, schema, compression="zstd") as writer:
            for batch in batches(db.engine, table, schema, batch_rows, user_id):
                writer.write_batch(batch)
                rows += batch.num_rows
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return ExportedTable(name, target, rows)


def _check_target(directory: Path, tables: Iterable[str], overwrite: bool) -> None:
    if directory.exists() and not directory.is_dir():
        raise ExportError(f"{directory} exists and is not a directory")
    existing = [f"{t}.parquet" for t in tables if (directory / f"{t}.parquet").exists()]
    if existing and not overwrite:
        raise ExportTargetTaken(
            f"{directory} already holds {', '.join(existing)}; "
            "choose an empty directory or pass --overwrite"
        )


def export_parquet(
    db: Database,
    directory: str | Path,
    *,
    tables: Iterable[str] = EXPORT_TABLES,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    overwrite: bool = False,
    on_table: Callable[[ExportedTable], None] | None = None,
    user_id: uuid.UUID | None = None,
) -> list[ExportedTable]:
    """Export `tables` as Parquet files into `directory` (created if needed); with
    `user_id`, only that user's rows."""
    names = list(tables)
    unknown = [n for n in names if n not in EXPORT_TABLES]
    if unknown:
        raise ExportError(
            f"unknown table {', '.join(unknown)}; exportable: {', '.join(EXPORT_TABLES)}"
        )
    if batch_rows < 1:
        raise ExportError(f"batch_rows must be at least 1, not {batch_rows}")
    target = Path(directory).expanduser()
    _check_target(target, names, overwrite)
    db.ensure_schema()
    target.mkdir(parents=True, exist_ok=True)
    exported = []
    for name in names:
        done = db.retry(
            lambda name=name: export_table(db, name, target, batch_rows=batch_rows, user_id=user_id)
        )
        exported.append(done)
        if on_table is not None:
            on_table(done)
    return exported
