"""A recording's batches written cheaply: multi-row inserts, and on PostgreSQL one
statement for the whole batch.

A generation produces tens of thousands of chunks, and the recording's writer thread
shares the GIL with the streaming thread, so what matters is the Python work per row,
not only the database's. Row-by-row `executemany` manages about 5,000 rows a second on
DuckDB. Instead every column goes as one parameter: PostgreSQL array text (`{1,2,3}`)
or DuckDB list text (`[1,2,3]`), built with `str.join` and parsed by the database in C
with the GIL released. Both drivers would otherwise convert Python lists element by
element while holding the GIL (psycopg even escapes each text element with `re.sub`).

- Chunks go as runs (`ChunkRun`: consecutive seqs of one attempt and stage, kept column
  by column): one statement a run, the three per-row columns as arrays, seq, attempt
  and stage as scalars. A batch is almost always one run.
- Events: the batch goes as one JSON document, encoded by the json module's C encoder
  (payloads included) and unpacked by the database.
- Checkpoint segments (`planner.store.checkpoints`): normally one short row a batch.
- A whole batch (`store_batch`): on PostgreSQL chunks, events, checkpoint segments and the
  attempt upsert are data-modifying WITH clauses of the generation row's UPDATE, one
  round trip in all;
  building and running the separate SQLAlchemy statements took about a third of the
  writer thread's CPU. DuckDB runs the statements one by one, as SQL text too.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Connection

from planner.db import Generation, GenerationAttempt, utcnow
from planner.store.lease import RENEW_POSTGRESQL, Lease, renew

CHUNK_COLUMNS = ("seq", "attempt", "stage", "char_offset", "chars", "t_ms")
ChunkRow = tuple[int, int, str, int, int, int]
EventRow = tuple[int, str, dict[str, Any], datetime]
CheckpointRow = tuple[int, str, int, str]  # seq, stage, from_char, text


@dataclass(frozen=True)
class ChunkRun:
    """Chunks of one attempt and stage with consecutive seqs from `first_seq` on, held
    column by column (lists, or the recording's typed arrays: no object per chunk)."""

    first_seq: int
    attempt: int
    stage: str
    offsets: Sequence[int]
    chars: Sequence[int]
    t_ms: Sequence[int]


_INSERT = (
    "INSERT INTO generation_chunks (generation_id, seq, attempt, stage, char_offset, chars, t_ms) "
)
# $2 first seq, $3 row count, $4 attempt, $5 stage, then the per-row columns.
_DUCKDB_RUN = _INSERT + (
    "SELECT $1::UUID, unnest(range($2::INTEGER, $2::INTEGER + $3::INTEGER)), $4::INTEGER, "
    "$5::VARCHAR, unnest($6::INTEGER[]), unnest($7::INTEGER[]), unnest($8::INTEGER[])"
)
_POSTGRESQL_RUN = _INSERT + (
    "SELECT %s::uuid, %s::integer + c.i::integer - 1, %s::integer, %s::text, c.o, c.n, c.t "
    "FROM unnest(%s::integer[], %s::integer[], %s::integer[]) WITH ORDINALITY AS c(o, n, t, i)"
)


def insert_chunk_runs(conn: Connection, generation_id: uuid.UUID, runs: Sequence[ChunkRun]) -> None:
    """Insert runs of chunks of one generation, a statement a run."""
    duckdb = _is_duckdb(conn)
    for run in runs:
        if run.offsets:
            conn.exec_driver_sql(*_chunk_statement(duckdb, generation_id, run))


def _chunk_statement(
    duckdb: bool, generation_id: uuid.UUID, run: ChunkRun
) -> tuple[str, tuple[Any, ...]]:
    gid = str(generation_id)
    if duckdb:
        return _DUCKDB_RUN, (gid, run.first_seq, len(run.offsets), run.attempt, run.stage) + (
            _duckdb_list(run.offsets),
            _duckdb_list(run.chars),
            _duckdb_list(run.t_ms),
        )
    return _POSTGRESQL_RUN, (gid, run.first_seq, run.attempt, run.stage) + (
        _int_array(run.offsets),
        _int_array(run.chars),
        _int_array(run.t_ms),
    )


def _is_duckdb(conn: Connection) -> bool:
    return conn.dialect.name == "duckdb"


def _duckdb_list(values: Sequence[int]) -> str:
    """A DuckDB list literal of integers: [1,2,3]."""
    return "[" + ",".join(map(str, values)) + "]"


def _int_array(values: Sequence[int]) -> str:
    """A PostgreSQL array literal of integers: {1,2,3}."""
    return "{" + ",".join(map(str, values)) + "}"


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


_CHECKPOINT_DUCKDB = (
    "INSERT INTO generation_checkpoints (generation_id, seq, stage, from_char, text) "
    "VALUES ($1::UUID, $2, $3, $4, $5)"
)
_CHECKPOINT_POSTGRESQL = (
    "INSERT INTO generation_checkpoints (generation_id, seq, stage, from_char, text) "
    "SELECT %s::uuid, %s, %s, %s, %s"
)


def store_batch(
    conn: Connection,
    generation_id: uuid.UUID,
    *,
    chunks: Sequence[ChunkRun],
    events: Sequence[EventRow],
    attempts: Sequence[dict[str, Any]],
    stored_attempts: Collection[int],
    values: dict[str, Any],
    checkpoints: Sequence[CheckpointRow] = (),
    lease: Lease | None = None,
    now: datetime | None = None,
) -> bool:
    """One recording batch in `conn`'s transaction: chunks, events and checkpoint segments
    inserted, attempts inserted or updated (by `number`; `stored_attempts` are already in
    the database) and `values` set on the generation row.

    PostgreSQL does it all in one statement: the inserts and the attempt upsert are
    data-modifying WITH clauses of the row's UPDATE, so a batch is one round trip,
    builds no SQLAlchemy statement and is atomic even in autocommit mode (the recording
    relies on that). DuckDB has no data-modifying WITH and runs them one
    by one.

    With a `lease`, everything is written only under it (`planner.store.lease`): DuckDB
    renews it first; on PostgreSQL its renewal is the statement's first clause and every
    other clause writes only if it matched. LeaseLost (and nothing written) if the lease
    is no longer current; otherwise returns whether a cancel was asked.
    """
    if _is_duckdb(conn):
        cancel = renew(conn, lease, now or utcnow()) if lease is not None else False
        _store_duckdb(conn, generation_id, chunks, events, attempts, stored_attempts, values)
        for row in checkpoints:
            conn.exec_driver_sql(_CHECKPOINT_DUCKDB, (str(generation_id), *row))
        return cancel
    clauses: list[str] = []
    params: tuple[Any, ...] = ()
    gate = ""
    if lease is not None:
        clauses.append(f"lease AS ({RENEW_POSTGRESQL})")
        moment = now or utcnow()
        params += (moment, lease.expiry(moment), str(generation_id), lease.epoch)
        gate = " WHERE EXISTS (SELECT 1 FROM lease)"
    for number, run in enumerate(run for run in chunks if run.offsets):
        sql, more = _chunk_statement(False, generation_id, run)
        clauses.append(f"chunks_{number} AS ({sql}{gate})")
        params += more
    if events:
        sql, more = _event_statement(False, generation_id, events)
        clauses.append(f"events AS ({sql}{gate})")
        params += more
    for number, row in enumerate(checkpoints):
        clauses.append(f"checkpoint_{number} AS ({_CHECKPOINT_POSTGRESQL}{gate})")
        params += (str(generation_id), *row)
    for number, (sql, more) in enumerate(_attempt_upserts(generation_id, attempts, gate)):
        clauses.append(f"attempts_{number} AS ({sql})")
        params += more
    if values:
        sql, more = _generation_update(generation_id, values)
        if lease is not None:
            sql += (
                " AND EXISTS (SELECT 1 FROM lease) RETURNING (SELECT cancel_requested FROM lease)"
            )
    else:
        sql, more = ("SELECT cancel_requested FROM lease", ()) if lease else ("SELECT 1", ())
    prefix = f"WITH {', '.join(clauses)} " if clauses else ""
    result = conn.exec_driver_sql(prefix + sql, params + more)
    if lease is None:
        return False
    row = result.first()
    if row is None:
        raise lease.lost()
    return bool(row[0])


def _store_duckdb(
    conn: Connection,
    generation_id: uuid.UUID,
    chunks: Sequence[ChunkRun],
    events: Sequence[EventRow],
    attempts: Sequence[dict[str, Any]],
    stored_attempts: Collection[int],
    values: dict[str, Any],
) -> None:
    """DuckDB, statement by statement, all written as SQL text: duckdb-engine turns off
    SQLAlchemy's statement cache, so a Core statement is compiled anew on every batch."""
    gid = str(generation_id)
    for attempt in attempts:
        _check_columns(attempt, _ATTEMPT_COLUMNS, "generation_attempts")
        if attempt["number"] in stored_attempts:
            changed = {k: v for k, v in attempt.items() if k != "number"}
            sql, params = _assignments(changed, _ATTEMPT_COLUMNS, duckdb=True)
            conn.exec_driver_sql(
                f"UPDATE generation_attempts SET {sql} WHERE generation_id = "
                f"${len(params) + 1}::UUID AND number = ${len(params) + 2}",
                (*params, gid, attempt["number"]),
            )
        else:
            row = {"id": str(uuid.uuid4()), "generation_id": gid, "started_at": utcnow()}
            row |= attempt
            marks = ", ".join(f"${i}" for i in range(1, len(row) + 1))
            conn.exec_driver_sql(
                f"INSERT INTO generation_attempts ({', '.join(row)}) VALUES ({marks})",
                tuple(row.values()),
            )
    insert_chunk_runs(conn, generation_id, chunks)
    insert_events(conn, generation_id, events)
    if values:
        conn.exec_driver_sql(*_generation_update(generation_id, values, duckdb=True))


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
    generation_id: uuid.UUID, attempts: Sequence[dict[str, Any]], gate: str = ""
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
                f"json_populate_recordset(NULL::generation_attempts, %s::json){gate} "
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
    generation_id: uuid.UUID, values: dict[str, Any], *, duckdb: bool = False
) -> tuple[str, tuple[Any, ...]]:
    """UPDATE generations SET the given columns."""
    _check_columns(values, _GENERATION_COLUMNS, "generations")
    sql, params = _assignments(values, _GENERATION_COLUMNS, duckdb=duckdb)
    where = f"${len(params) + 1}::UUID" if duckdb else "%s::uuid"
    return f"UPDATE generations SET {sql} WHERE id = {where}", (*params, str(generation_id))


def _assignments(
    values: dict[str, Any], columns: Any, *, duckdb: bool
) -> tuple[str, tuple[Any, ...]]:
    """`column = placeholder, ...` (JSON values encoded here) and the parameters, in
    DuckDB's numbered or psycopg's positional style."""
    assignments, params = [], []
    for number, (name, value) in enumerate(values.items(), 1):
        mark = f"${number}" if duckdb else "%s"
        if isinstance(columns[name].type, JSON) and value is not None:
            assignments.append(f"{name} = {mark}::json")
            params.append(json.dumps(value, separators=(",", ":")))
        else:
            assignments.append(f"{name} = {mark}")
            params.append(value)
    return ", ".join(assignments), tuple(params)
