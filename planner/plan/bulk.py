"""Fast multi-row inserts of chunk and event rows: one statement per batch, columns as arrays.

A generation produces tens of thousands of chunks. Row-by-row `executemany` manages
about 5,000 rows a second on DuckDB; passing each column as one array parameter and
unnesting it in SQL is an order of magnitude faster on DuckDB and on PostgreSQL alike.
On DuckDB, chunk rows go in as an Arrow table instead: converting Python lists into
DuckDB list parameters costs about three times as much CPU as DuckDB scanning Arrow
columns, and the recorder's writer thread shares the GIL with the generation.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

CHUNK_COLUMNS = ("seq", "attempt", "stage", "char_offset", "chars", "t_ms")
ChunkRow = tuple[int, int, str, int, int, int]
EventRow = tuple[int, str, dict[str, Any], datetime]

_INSERT = (
    "INSERT INTO generation_chunks (generation_id, seq, attempt, stage, char_offset, chars, t_ms) "
)
_DUCKDB_ARROW_VIEW = "planner_chunk_batch"
_DUCKDB = _INSERT + f"SELECT $1::UUID, {', '.join(CHUNK_COLUMNS)} FROM {_DUCKDB_ARROW_VIEW}"
_POSTGRESQL = _INSERT + (
    "SELECT %s::uuid, c.* FROM unnest(%s::integer[], %s::integer[], %s::text[], "
    "%s::integer[], %s::integer[], %s::integer[]) AS c"
)


@functools.cache
def _chunk_arrow_schema() -> Any:
    import pyarrow as pa

    return pa.schema(
        [(name, pa.string() if name == "stage" else pa.int32()) for name in CHUNK_COLUMNS]
    )


def insert_chunks(conn: Connection, generation_id: uuid.UUID, rows: Sequence[ChunkRow]) -> None:
    """Insert chunk rows (in CHUNK_COLUMNS order) of one generation in one statement."""
    if not rows:
        return
    columns = [list(column) for column in zip(*rows, strict=True)]
    if conn.dialect.name != "duckdb":
        conn.exec_driver_sql(_POSTGRESQL, (str(generation_id), *columns))
        return
    import pyarrow as pa  # imported on first use: only DuckDB needs it, and it loads slowly

    schema = _chunk_arrow_schema()
    table = pa.Table.from_arrays(
        [pa.array(column, field.type) for column, field in zip(columns, schema, strict=True)],
        schema=schema,
    )
    # The DBAPI connection of this transaction: the insert commits or rolls back with it.
    duckdb = conn.connection.driver_connection
    duckdb.register(_DUCKDB_ARROW_VIEW, table)
    try:
        duckdb.execute(_DUCKDB, (str(generation_id),))
    finally:
        duckdb.unregister(_DUCKDB_ARROW_VIEW)


_EVENTS_DUCKDB = (
    "INSERT INTO generation_events (generation_id, seq, name, payload, created_at) "
    "SELECT $1::UUID, unnest($2::INTEGER[]), unnest($3::VARCHAR[]), "
    "CAST(unnest($4::VARCHAR[]) AS JSON), unnest($5::TIMESTAMP[])"
)
_EVENTS_POSTGRESQL = (
    "INSERT INTO generation_events (generation_id, seq, name, payload, created_at) "
    "SELECT %s::uuid, e.seq, e.name, e.payload::json, e.created_at FROM "
    "unnest(%s::integer[], %s::text[], %s::text[], %s::timestamp[]) "
    "AS e(seq, name, payload, created_at)"
)


def insert_events(conn: Connection, generation_id: uuid.UUID, rows: Sequence[EventRow]) -> None:
    """Insert event rows (seq, name, payload, created_at) of one generation at once."""
    if not rows:
        return
    seqs, names, payloads, created = (list(column) for column in zip(*rows, strict=True))
    texts = [json.dumps(payload, separators=(",", ":")) for payload in payloads]
    sql = _EVENTS_DUCKDB if conn.dialect.name == "duckdb" else _EVENTS_POSTGRESQL
    conn.exec_driver_sql(sql, (str(generation_id), seqs, names, texts, created))
