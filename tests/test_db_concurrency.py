"""Several OS processes share one DuckDB file: no row is lost, and a lock held for good
ends in a clear DatabaseLockedError; a database that is down or misnamed is one clear
DatabaseUnavailable.

Three writers that open, insert and close in a tight loop are the case where DuckDB's own
hand-over of the file fails now and then (`Could not read enough bytes`); planner's file
lock (planner.db.duckdb_lock) is what makes this test pass reliably.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest
from sqlalchemy import func, select, text

from planner.db import (
    Database,
    DatabaseLockedError,
    User,
    is_lock_conflict,
    retry_lock_conflicts,
)
from planner.db.retry import MAX_DELAY_S
from planner.errors import DatabaseUnavailable

REPO_ROOT = Path(__file__).resolve().parent.parent
ROWS_PER_WRITER = 20
WRITERS = ("left", "middle", "right")

WRITER = """
import json, sys, time
from pathlib import Path
from planner.db import Database, User, retry_lock_conflicts

url, prefix, count, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
holder = sys.argv[5] == "hold"
db = Database(url)
waits = 0
(go.parent / f"ready-{prefix}").touch()  # planner is imported: only the go is awaited now

def counting_sleep(seconds):
    global waits
    waits += 1
    (go.parent / f"waited-{prefix}").touch()
    time.sleep(seconds)

def someone_waited():
    return any(go.parent.glob("waited-*"))

def write(index):
    with db.session() as session:
        session.add(User(username=f"{prefix}-{index}", can_login=False))
        session.flush()
        if holder and index == 0:
            # hold the file until another writer has met the lock: a collision for sure
            deadline = time.monotonic() + 120
            while not someone_waited() and time.monotonic() < deadline:
                time.sleep(0.002)

while not go.exists():
    time.sleep(0.002)
for index in range(count):
    retry_lock_conflicts(lambda: write(index), sleep=counting_sleep, timeout_s=120)
print(json.dumps({"waits": waits}))
"""

# Holds the file the way another program would (DuckDB's own lock) ...
RAW_HOLDER = """
import sys, duckdb
connection = duckdb.connect(sys.argv[1])
print("holding", flush=True)
sys.stdin.read()
connection.close()
"""
# ... or the way another planner process would (planner's lock, then DuckDB's).
PLANNER_HOLDER = """
import sys
from sqlalchemy import text
from planner.db import Database
with Database("duckdb:///" + sys.argv[1]).session() as session:
    session.execute(text("SELECT 1"))
    print("holding", flush=True)
    sys.stdin.read()
"""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return env


@pytest.fixture
def duckdb_url(planner_home: Path) -> str:
    url = f"duckdb:///{planner_home / 'shared.duckdb'}"
    with Database(url) as db:
        db.ensure_schema()
    return url


@pytest.fixture(params=["duckdb-lock", "planner-lock"])
def lock_holder(request: pytest.FixtureRequest, planner_home: Path):  # noqa: ANN201
    """Start a process that holds the DuckDB file open until its stdin closes."""
    started: list[subprocess.Popen[str]] = []
    script = RAW_HOLDER if request.param == "duckdb-lock" else PLANNER_HOLDER

    def start() -> subprocess.Popen[str]:
        path = planner_home / "shared.duckdb"
        process = subprocess.Popen(
            [sys.executable, "-c", script, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        started.append(process)
        assert process.stdout is not None and process.stdout.readline().strip() == "holding"
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.stdin.close()
            process.wait(timeout=30)


def _wait_for(condition, what: str, timeout_s: float = 120) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        time.sleep(0.01)


def test_three_processes_writing_at_once_lose_no_row(duckdb_url: str, planner_home: Path) -> None:
    go = planner_home / "go"
    writers = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WRITER,
                duckdb_url,
                prefix,
                str(ROWS_PER_WRITER),
                str(go),
                "hold" if prefix == WRITERS[0] else "go",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        for prefix in WRITERS
    ]
    _wait_for(
        lambda: (
            all((planner_home / f"ready-{p}").exists() for p in WRITERS)
            or any(w.poll() is not None for w in writers)
        ),
        "every writer to import planner",
    )
    go.touch()  # all three start together; the first holds the file until another waited
    reports = []
    for writer in writers:
        out, err = writer.communicate(timeout=240)
        assert writer.returncode == 0, err
        reports.append(json.loads(out))

    with Database(duckdb_url) as db, db.session() as session:
        names = set(session.scalars(select(User.username)))
    expected = {f"{p}-{i}" for p in WRITERS for i in range(ROWS_PER_WRITER)}
    assert names == expected
    assert sum(r["waits"] for r in reports) > 0, "the writers never met a lock: nothing tested"


def test_a_lock_never_released_ends_in_a_clear_error(duckdb_url: str, lock_holder) -> None:  # noqa: ANN001
    holder = lock_holder()
    started = time.monotonic()
    with (
        Database(duckdb_url, lock_timeout_s=0.5) as db,
        pytest.raises(DatabaseLockedError) as refused,
    ):
        db.in_session(lambda s: s.execute(text("SELECT 1")))
    assert time.monotonic() - started >= 0.5
    message = str(refused.value)
    assert f"PID {holder.pid}" in message
    assert "0.5 s" in message and "PostgreSQL" in message
    assert is_lock_conflict(refused.value.__cause__)


def test_a_writer_waits_for_a_lock_that_is_released(duckdb_url: str, lock_holder) -> None:  # noqa: ANN001
    holder = lock_holder()
    release = threading.Timer(0.4, holder.stdin.close)
    release.start()
    try:
        with Database(duckdb_url) as db:
            db.in_session(lambda s: s.add(User(username="patient", can_login=False)))
    finally:
        release.cancel()
    with Database(duckdb_url) as db, db.session() as session:
        assert session.scalar(select(func.count()).where(User.username == "patient")) == 1


def _real_lock_error() -> duckdb.IOException:
    return duckdb.IOException(
        'IO Error: Could not set lock on file "/x/planner.duckdb": Conflicting lock is held '
        "in /usr/bin/python3 (PID 4242). See also https://duckdb.org/docs/current/connect/"
    )


def test_backoff_grows_is_bounded_and_gives_up_at_the_deadline() -> None:
    now = [0.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    def always_locked() -> None:
        raise _real_lock_error()

    with pytest.raises(DatabaseLockedError, match="PID 4242"):
        retry_lock_conflicts(always_locked, timeout_s=10, sleep=sleep, clock=lambda: now[0])
    assert 10 <= now[0] <= 10 + 1e-9
    assert sleeps[0] < 0.02
    assert max(sleeps) <= MAX_DELAY_S * 1.5
    assert sum(sleeps[:5]) < sum(sleeps[5:10])  # it backs off
    assert len(sleeps) < 60  # and does not spin


def test_retry_returns_once_the_lock_is_free_and_passes_other_errors_through() -> None:
    failures = [_real_lock_error(), _real_lock_error()]
    sleeps: list[float] = []

    def flaky() -> str:
        if failures:
            raise failures.pop()
        return "done"

    assert retry_lock_conflicts(flaky, sleep=sleeps.append) == "done"
    assert len(sleeps) == 2

    def broken() -> None:
        raise ValueError("not a lock problem")

    with pytest.raises(ValueError, match="not a lock problem"):
        retry_lock_conflicts(broken, sleep=sleeps.append)
    assert len(sleeps) == 2
    assert not is_lock_conflict(duckdb.IOException("IO Error: No such file or directory"))


def test_threads_of_one_process_share_the_file_and_lose_no_row(duckdb_url: str) -> None:
    db = Database(duckdb_url)

    def writer(prefix: str) -> None:
        for index in range(10):
            db.in_session(lambda s, i=index: s.add(User(username=f"{prefix}-{i}", can_login=False)))

    threads = [threading.Thread(target=writer, args=(f"t{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 40
    db.close()
    # Every connection was closed, so the file is free for another process right away.
    probe = subprocess.run(
        [sys.executable, "-c", HOLDER_PROBE, duckdb_url.removeprefix("duckdb:///")],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=60,
    )
    assert probe.returncode == 0, probe.stderr


HOLDER_PROBE = """
import sys, duckdb
duckdb.connect(sys.argv[1]).close()
"""


def test_a_held_file_stays_open_between_transactions_and_is_free_after_close(
    duckdb_url: str,
) -> None:
    """`held()` keeps one keeper connection (the lingering file); closing frees the file."""
    db = Database(duckdb_url)
    with db.held():
        for index in range(3):
            db.in_session(lambda s, i=index: s.add(User(username=f"held-{i}", can_login=False)))
        busy = subprocess.run(
            [sys.executable, "-c", HOLDER_PROBE, duckdb_url.removeprefix("duckdb:///")],
            capture_output=True,
            text=True,
            env=_env(),
            timeout=60,
        )
        assert busy.returncode != 0 and "lock" in busy.stderr.lower()
    db.close()
    free = subprocess.run(
        [sys.executable, "-c", HOLDER_PROBE, duckdb_url.removeprefix("duckdb:///")],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=60,
    )
    assert free.returncode == 0, free.stderr


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("postgresql+psycopg://postgres@127.0.0.1:1/test", "refused"),
        ("postgresql+psycopg://postgres@no-such-host.invalid/test", "no-such-host.invalid"),
        ("not a database url", "not a database URL"),
        ("nosuchdialect://somewhere/db", "no driver"),
    ],
)
def test_an_unusable_database_is_one_clear_error(url: str, words: str) -> None:
    with pytest.raises(DatabaseUnavailable) as refused, Database(url) as db:
        db.ensure_schema()
    message = str(refused.value)
    assert "\n" not in message and words in message, message
    assert message.startswith("cannot use the database ")


def test_a_duckdb_path_that_cannot_be_a_file_is_one_clear_error(tmp_path: Path) -> None:
    """A path under a regular file: no user, root included, can create it."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    with pytest.raises(DatabaseUnavailable) as refused:
        Database(f"duckdb:///{blocker / 'planner.duckdb'}")
    message = str(refused.value)
    assert message.startswith(f"cannot use the database duckdb:///{blocker}")
    assert "\n" not in message and "cannot create its folder" in message
