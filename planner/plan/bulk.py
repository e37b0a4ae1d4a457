"""The recorder's batches written cheaply: multi-row inserts, and on PostgreSQL one
statement for the whole batch.

A generation produces tens of thousands of chunks, and the recorder's writer thread
shares the GIL with the streaming thread, so what matters is the Python work per row,
not only the database's. Row-by-row `executemany` manages about 5,000 rows a second on
DuckDB. Instead every column goes as one parameter: PostgreSQL array text (`{1,2,3}`)
or DuckDB list text (`[1,2,3]`), built with `str.join` and parsed by the database in C
with the GIL released. Both drivers would otherwise convert Python lists element by
element while holding the GIL (psycopg even escapes each text element with `re.sub`).

- Chunks: a batch is almost always one run (consecutive seqs of one attempt and stage),
  and then only the three per-row columns go as arrays; seq, attempt and stage are
  scalars. Any other batch goes with all six columns.
- Events: the batch goes as one JSON document, encoded by the json module's C encoder
  (payloads included) and unpacked by the database.
- A whole batch (`store_batch`): on PostgreSQL chunks, events and the attempt upsert are
  data-modifying WITH clauses of the generation row's UPDATE, one round trip in all;
  building and running the separate SQLAlchemy statements took about a third of the
  writer thread's CPU.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Connection, insert, update

from planner.db import Generation, GenerationAttempt, utcnow

CHUNK_COLUMNS = ("seq", "attempt", "stage", "char_offset", "chars", "t_ms")
ChunkRow = tuple[int, int, str, int, int, int]
EventRow = tuple[int, str, dict[str, Any], datetime]

_INSERT = (
    "INSERT INTO generation_chunks (generation_id, seq, attempt, stage, char_offset, chars, t_ms) "
)
# One run: $2 first seq, $3 row count, $4 attempt, $5 stage, then the per-row columns.
_DUCKDB_RUN = _INSERT + (
    "SELECT $1::UUID, unnest(range($2::INTEGER, $2::INTEGER + $3::INTEGER)), $4::INTEGER, "
    "$5::VARCHAR, unnest($6::INTEGER[]), unnest($7::INTEGER[]), unnest($8::INTEGER[])"
)
# Any batch: stages go as a short list ($4) and a 1-based index per row ($5).
_DUCKDB_ROWS = _INSERT + (
    "SELECT $1::UUID, unnest($2::INTEGER[]), unnest($3::INTEGER[]), "
    "list_extract($4::VARCHAR[], unnest($5::INTEGER[])), "
    "unnest($6::INTEGER[]), unnest($7::INTEGER[]), unnest($8::INTEGER[])"
)
_POSTGRESQL_RUN = _INSERT + (
    "SELECT %s::uuid, %s::integer + c.i::integer - 1, %s::integer, %s::text, c.o, c.n, c.t "
    "FROM unnest(%s::integer[], %s::integer[], %s::integer[]) WITH ORDINALITY AS c(o, n, t, i)"
)
_POSTGRESQL_ROWS = _INSERT + (
    "SELECT %s::uuid, c.* FROM unnest(%s::integer[], %s::integer[], %s::text[], "
    "%s::integer[], %s::integer[], %s::integer[]) AS c"
)


def insert_chunks(conn: Connection, generation_id: uuid.UUID, rows: Sequence[ChunkRow]) -> None:
    """Insert chunk rows (in CHUNK_COLUMNS order) of one generation in one statement."""
    if rows:
        conn.exec_driver_sql(*_chunk_statement(_is_duckdb(conn), generation_id, rows))


def _chunk_statement(
    duckdb: bool, generation_id: uuid.UUID, rows: Sequence[ChunkRow]
) -> tuple[str, tuple[Any, ...]]:
    seqs, attempts, stages, offsets, chars, t_ms = zip(*rows, strict=True)
    gid = str(generation_id)
    if _one_run(seqs, attempts, stages):
        if duckdb:
            return _DUCKDB_RUN, (gid, seqs[0], len(seqs), attempts[0], stages[0]) + (
                _duckdb_list(offsets),
                _duckdb_list(chars),
                _duckdb_list(t_ms),
            )
        return _POSTGRESQL_RUN, (gid, seqs[0], attempts[0], stages[0]) + (
            _int_array(offsets),
            _int_array(chars),
            _int_array(t_ms),
        )
    if duckdb:
        names = sorted(set(stages))
        index = {name: i for i, name in enumerate(names, 1)}
        return _DUCKDB_ROWS, (gid, _duckdb_list(seqs), _duckdb_list(attempts), names) + (
            _duckdb_list([index[stage] for stage in stages]),
            _duckdb_list(offsets),
            _duckdb_list(chars),
            _duckdb_list(t_ms),
        )
    return _POSTGRESQL_ROWS, (gid, _int_array(seqs), _int_array(attempts), _text_array(stages)) + (
        _int_array(offsets),
        _int_array(chars),
        _int_array(t_ms),
    )


def _is_duckdb(conn: Connection) -> bool:
    return conn.dialect.name == "duckdb"


def _one_run(seqs: tuple[int, ...], attempts: tuple[int, ...], stages: tuple[str, ...]) -> bool:
    """Consecutive seqs, one attempt, one stage (checked with C-level tuple operations)."""
    count = len(seqs)
    return (
        seqs[-1] - seqs[0] == count - 1
        and seqs == tuple(range(seqs[0], seqs[0] + count))
        and attempts.count(attempts[0]) == count
        and stages.count(stages[0]) == count
    )


def _duckdb_list(values: Sequence[int]) -> str:
    """A DuckDB list literal of integers: [1,2,3]."""
    return "[" + ",".join(map(str, values)) + "]"


def _int_array(values: Sequence[int]) -> str:
    """A PostgreSQL array literal of integers: {1,2,3}."""
    return "{" + ",".join(map(str, values)) + "}"


def _text_array(values: Sequence[str]) -> str:
    """A PostgreSQL array literal of strings, each quoted and escaped."""
    quoted = {v: '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in set(values)}
    return "{" + ",".join([quoted[v] for v in values]) + "}"


_EVENTS_DUCKDB = (
    "INSERT INTO generation_events (generation_id, seq, name, payload, created_at) "
    "SELECT $1::UUID, e.seq, e.name, e.payload, e.created_at FROM ("
    'SELECT unnest(from_json($2, \'[{"seq": "INTEGER", "name": "VARCHAR", '
    '"payload": "JSON", "created_at": "TIMESTAMP"}]\'), recursive := true)) AS e'
)
_EVENTS_POSTGRESQL = (
    "INSERT INTO generation_events (generation_id, seq, name, payload, created_at) "
    "SELECT %s::uuid, e.seq, e.name, e.payload, e.created_at FROM "
    "json_to_recordset(%s::json) AS e(seq integer, name text, payload json, created_at timestamp)"
)


def insert_events(conn: Connection, generation_id: uuid.UUID, rows: Sequence[EventRow]) -> None:
    """Insert event rows (seq, name, payload, created_at) of one generation at once."""
    if rows:
        conn.exec_driver_sql(*_event_statement(_is_duckdb(conn), generation_id, rows))


def _event_statement(
    duckdb: bool, generation_id: uuid.UUID, rows: Sequence[EventRow]
) -> tuple[str, tuple[Any, ...]]:
    document = json.dumps(
        [
            {"seq": seq, "name": name, "payload": payload, "created_at": created.isoformat()}
            for seq, name, payload, created in rows
        ],
        separators=(",", ":"),
    )
    return (_EVENTS_DUCKDB if duckdb else _EVENTS_POSTGRESQL), (str(generation_id), document)


def store_batch(
    conn: Connection,
    generation_id: uuid.UUID,
    *,
    chunks: Sequence[ChunkRow],
    events: Sequence[EventRow],
    attempts: Sequence[dict[str, Any]],
    stored_attempts: Collection[int],
    values: dict[str, Any],
) -> None:
    """One recorder batch in `conn`'s transaction: chunks and events inserted, attempts
    inserted or updated (by `number`; `stored_attempts` are already in the database) and
    `values` set on the generation row.

    PostgreSQL does it all in one statement: the inserts and the attempt upsert are
    data-modifying WITH clauses of the row's UPDATE, so a batch is one round trip and
    builds no SQLAlchemy statement. DuckDB has no data-modifying WITH and runs them one
    by one.
    """
    if _is_duckdb(conn):
        _store_duckdb(conn, generation_id, chunks, events, attempts, stored_attempts, values)
        return
    clauses: list[str] = []
    params: tuple[Any, ...] = ()
    for name, rows, statement in (
        ("chunks", chunks, _chunk_statement),
        ("events", events, _event_statement),
    ):
        if rows:
            sql, more = statement(False, generation_id, rows)
            clauses.append(f"{name} AS ({sql})")
            params += more
    for number, (sql, more) in enumerate(_attempt_upserts(generation_id, attempts)):
        clauses.append(f"attempts_{number} AS ({sql})")
        params += more
    sql, more = _generation_update(generation_id, values) if values else ("SELECT 1", ())
    prefix = f"WITH {', '.join(clauses)} " if clauses else ""
    conn.exec_driver_sql(prefix + sql, params + more)


def _store_duckdb(
    conn: Connection,
    generation_id: uuid.UUID,
    chunks: Sequence[ChunkRow],
    events: Sequence[EventRow],
    attempts: Sequence[dict[str, Any]],
    stored_attempts: Collection[int],
    values: dict[str, Any],
) -> None:
    for attempt in attempts:
        _check_columns(attempt, _ATTEMPT_COLUMNS, "generation_attempts")
    new = [a for a in attempts if a["number"] not in stored_attempts]
    if new:
        conn.execute(
            insert(GenerationAttempt),
            [{"id": uuid.uuid4(), "generation_id": generation_id, **a} for a in new],
        )
    for attempt in attempts:
        if attempt["number"] in stored_attempts:
            conn.execute(
                update(GenerationAttempt)
                .where(GenerationAttempt.generation_id == generation_id)
                .where(GenerationAttempt.number == attempt["number"])
                .values(**attempt)
            )
    insert_chunks(conn, generation_id, chunks)
    insert_events(conn, generation_id, events)
    if values:
        conn.execute(update(Generation).where(Generation.id == generation_id).values(values))


_GENERATION_COLUMNS = Generation.__table__.c
_ATTEMPT_COLUMNS = GenerationAttempt.__table__.c
# Made here for a new attempt row; an existing row keeps its own.
_ATTEMPT_MADE_HERE = ("id", "generation_id", "started_at")


def _check_columns(names: Collection[str], columns: Any, table: str) -> None:
    """Column names are written into SQL text: only the table's own may pass."""
    unknown = sorted(set(names) - set(columns.keys()))
    if unknown:
        raise ValueError(f"not columns of {table}: {', '.join(unknown)}")


def _attempt_upserts(
    generation_id: uuid.UUID, attempts: Sequence[dict[str, Any]]
) -> list[tuple[str, tuple[Any, ...]]]:
    """PostgreSQL: INSERT ... ON CONFLICT (generation_id, number) DO UPDATE, one per set
    of columns given (normally one). The rows go as one JSON document, typed by the
    table's own row type.
    """
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for attempt in attempts:
        by_columns.setdefault(tuple(sorted(attempt)), []).append(attempt)
    made_here = {"generation_id": str(generation_id), "started_at": utcnow().isoformat()}
    upserts = []
    for columns, rows in by_columns.items():
        _check_columns(columns, _ATTEMPT_COLUMNS, "generation_attempts")
        given = [c for c in columns if c not in _ATTEMPT_MADE_HERE]
        inserted = ", ".join([*_ATTEMPT_MADE_HERE, *given])
        updated = ", ".join(f"{c} = EXCLUDED.{c}" for c in given if c != "number")
        document = json.dumps(
            [{**row, **made_here, "id": str(uuid.uuid4())} for row in rows],
            default=_json_value,
            separators=(",", ":"),
        )
        upserts.append(
            (
                f"INSERT INTO generation_attempts ({inserted}) SELECT {inserted} FROM "
                "json_populate_recordset(NULL::generation_attempts, %s::json) "
                f"ON CONFLICT (generation_id, number) DO UPDATE SET {updated}",
                (document,),
            )
        )
    return upserts


def _json_value(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _generation_update(
    generation_id: uuid.UUID, values: dict[str, Any]
) -> tuple[str, tuple[Any, ...]]:
    """PostgreSQL: UPDATE generations SET the given columns (JSON ones encoded here)."""
    _check_columns(values, _GENERATION_COLUMNS, "generations")
    assignments, params = [], []
    for name, value in values.items():
        if isinstance(_GENERATION_COLUMNS[name].type, JSON) and value is not None:
            assignments.append(f"{name} = %s::json")
            params.append(json.dumps(value, separators=(",", ":")))
        else:
            assignments.append(f"{name} = %s")
            params.append(value)
    sql = f"UPDATE generations SET {', '.join(assignments)} WHERE id = %s::uuid"
    return sql, (*params, str(generation_id))
