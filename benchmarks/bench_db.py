"""Database layer figures: what one short-lived session costs, and what sharing costs.

Every planner process opens DuckDB only for the length of one transaction so that other
processes can use the file too. These figures show the price of that choice (a session
on DuckDB against one on PostgreSQL) and the throughput of two processes writing to one
DuckDB file at once against one process alone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from planner.db import Database, User

SESSIONS = 40
ROWS = 40
PG_ADMIN = os.environ.get("PLANNER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")

WRITER = """
import json, sys, time
from pathlib import Path
from planner.db import Database, User
url, prefix, count, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
db = Database(url)
def write(session, index):
    session.add(User(username=f"{prefix}-{index}", can_login=False))
while not go.exists():
    time.sleep(0.002)
start = time.time()
for index in range(count):
    db.in_session(lambda session: write(session, index))
print(json.dumps([start, time.time()]))
"""


def _session_ms(db: Database) -> float:
    prefix = uuid.uuid4().hex[:8]
    started = time.perf_counter()
    for index in range(SESSIONS):
        with db.session() as session:
            session.add(User(username=f"b{prefix}-{index}", can_login=False))
    return (time.perf_counter() - started) / SESSIONS * 1000


def _writers_rows_per_s(url: str, writers: int, folder: Path) -> float:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    go = folder / f"go-{writers}"
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, url, f"w{writers}-{n}", str(ROWS), str(go)],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(writers)
    ]
    time.sleep(1.0)  # every writer has imported planner and waits at the start line
    go.touch()
    spans = [json.loads(process.communicate()[0]) for process in processes]
    elapsed = max(end for _, end in spans) - min(start for start, _ in spans)
    return writers * ROWS / elapsed


def _postgres_session_ms() -> str:
    import psycopg

    name = f"planner_bench_{uuid.uuid4().hex[:8]}"
    try:
        admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        return f"not measured ({exc})"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
        try:
            with Database(f"{base}/{name}") as db:
                db.ensure_schema()
                return f"{_session_ms(db):.1f}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        duck = f"duckdb:///{folder / 'bench.duckdb'}"
        with Database(duck) as db:
            db.ensure_schema()
            duck_ms = _session_ms(db)
        pg_ms = _postgres_session_ms()
        print(f"duckdb write session (open, insert, commit, close): {duck_ms:.1f} ms")
        print(f"postgresql write session (pooled connection):      {pg_ms} ms")
        if pg_ms.replace(".", "").isdigit():
            print(
                f"ratio duckdb/postgresql per session:               {duck_ms / float(pg_ms):.1f}"
            )
        one = _writers_rows_per_s(duck, 1, folder)
        two = _writers_rows_per_s(duck, 2, folder)
        print(f"duckdb rows/s, one writer process:                 {one:.1f}")
        print(f"duckdb rows/s, two writer processes on one file:   {two:.1f}")
        print(f"ratio two writers/one writer:                      {two / one:.2f}")
