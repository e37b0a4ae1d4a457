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
    columns: list[Any] = [list(column) for column in zip(*rows, strict=True)]
    if conn.dialect.name == "duckdb":
        conn.exec_driver_sql(_DUCKDB, (str(generation_id), *columns))
        return
    # psycopg adapts a list element by element in Python (about 4 ms per 1,000 rows of
    # this table, holding the GIL the streaming thread needs); array literals built
    # with str.join cost a fraction of that and PostgreSQL parses them in C.
    seqs, attempts, stages, offsets, chars, t_ms = columns
    literals = [_int_array(seqs), _int_array(attempts), _text_array(stages)]
    literals += [_int_array(offsets), _int_array(chars), _int_array(t_ms)]
    conn.exec_driver_sql(_POSTGRESQL, (str(generation_id), *literals))


def _int_array(values: list[int]) -> str:
    """A PostgreSQL array literal of integers: {1,2,3}."""
    return "{" + ",".join(map(str, values)) + "}"


def _text_array(values: list[str]) -> str:
    """A PostgreSQL array literal of strings, each quoted and escaped."""
    quoted = {v: '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in set(values)}
    return "{" + ",".join([quoted[v] for v in values]) + "}"


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
