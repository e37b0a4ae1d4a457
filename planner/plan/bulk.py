"""Fast multi-row inserts of chunk and event rows: one statement per batch, columns as arrays.

A generation produces tens of thousands of chunks. Row-by-row `executemany` manages
about 5,000 rows a second on DuckDB; passing each column as one array parameter and
unnesting it in SQL is an order of magnitude faster on DuckDB and on PostgreSQL alike.
"""

from __future__ import annotations

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
_DUCKDB = _INSERT + (
    "SELECT $1::UUID, unnest($2::INTEGER[]), unnest($3::INTEGER[]), unnest($4::VARCHAR[]), "
    "unnest($5::INTEGER[]), unnest($6::INTEGER[]), unnest($7::INTEGER[])"
)
_POSTGRESQL = _INSERT + (
    "SELECT %s::uuid, c.* FROM unnest(%s::integer[], %s::integer[], %s::text[], "
    "%s::integer[], %s::integer[], %s::integer[]) AS c"
)


def insert_chunks(conn: Connection, generation_id: uuid.UUID, rows: Sequence[ChunkRow]) -> None:
    """Insert chunk rows (in CHUNK_COLUMNS order) of one generation in one statement."""
    if not rows:
        return
    columns = [list(column) for column in zip(*rows, strict=True)]
    sql = _DUCKDB if conn.dialect.name == "duckdb" else _POSTGRESQL
    conn.exec_driver_sql(sql, (str(generation_id), *columns))


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
