"""Shared fixtures: a temporary PLANNER_HOME for every test, fresh PostgreSQL databases,
and the `Database` handle a test passes to the library (`db`, on both databases)."""

from __future__ import annotations

import json
import os
import queue
import shutil
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from planner.auth import get_or_create_local_user
from planner.config import reset_settings
from planner.db import Database
from planner.plan import GenerationService
from planner.plan.sweep import stop_all as stop_all_sweepers
from planner.store import GenerationStore

IN_CI = os.environ.get("CI", "").lower() == "true"
PG_ADMIN_URL = os.environ.get("PLANNER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("PLANNER_TEST_REDIS", "redis://127.0.0.1:6379/0")
_PLANNER_VARS = (
    "PLANNER_HOME",
    "PLANNER_DATABASE_URL",
    "PLANNER_JWT_SECRET",
    "PLANNER_MODEL",
    "PLANNER_SOCKETIO_PORT",
    "PLANNER_REDIS_URL",
    "PLANNER_MAX_ACTIVE_GENERATIONS",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
)


def skip_or_fail(reason: str) -> None:
    """Skip on a developer machine without the service; fail in CI, where it must run."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: this test must run)")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def cheap_password_hashing(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """In this process, passwords are hashed with argon2-cffi's `CHEAPEST` profile (its
    documentation: "only use for tests"): a hash or a check costs microseconds instead of
    0.16 s, and hundreds of logins add up. A test of the production parameters is marked
    `real_password_hashing`; planner processes a test starts hash as planner does."""
    from argon2 import PasswordHasher, profiles

    from planner import auth

    if request.node.get_closest_marker("real_password_hashing") is None:
        monkeypatch.setattr(auth, "_hasher", PasswordHasher.from_parameters(profiles.CHEAPEST))
    auth._dummy_hash.cache_clear()  # made with whichever hasher is in use from now on
    yield
    auth._dummy_hash.cache_clear()


@pytest.fixture(autouse=True)
def planner_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets its own data folder; the developer's own data is never touched."""
    for name in _PLANNER_VARS:
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "planner-home"
    monkeypatch.setenv("PLANNER_HOME", str(home))
    # The dashboard's Socket.IO endpoint is process-wide: a test that renders the app must
    # not leave it on the fixed default port for the rest of its worker process. A test of
    # the endpoint sets the port it wants.
    monkeypatch.setenv("PLANNER_SOCKETIO_PORT", "0")
    reset_settings()
    yield home
    # A sweeper a test left running (a cached dashboard service) would sweep a deleted
    # database and log into the next test's output.
    stop_all_sweepers()
    reset_settings()


def _pg_admin():  # noqa: ANN202
    import psycopg

    try:
        return psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        skip_or_fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc}")


class _Dropper:
    """Drops the tests' PostgreSQL databases on a thread of its own: a DROP DATABASE takes
    the server most of a second, time the next test need not wait for. Whatever is still
    queued when the session ends is dropped then."""

    def __init__(self) -> None:
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def drop(self, name: str) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="pg-dropper", daemon=True)
            self._thread.start()
        self._queue.put(name)

    def _run(self) -> None:
        while (name := self._queue.get()) is not None:
            with _pg_admin() as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def finish(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None


_dropper = _Dropper()


def _pg_url_of(name: str) -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{name}"


@pytest.fixture(scope="session")
def migrated_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    """Made once per test process: a DuckDB file and a PostgreSQL database migrated to
    head, which the `db`, `duckdb` and `postgres` fixtures copy instead of migrating each
    test's database anew (the migrations themselves are tested from empty databases)."""
    made: dict[str, object] = {}
    yield made
    if "postgresql" in made:
        _dropper.drop(str(made["postgresql"]))
    _dropper.finish()


def _duckdb_template(
    templates: dict[str, object], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    if "duckdb" not in templates:
        path = tmp_path_factory.mktemp("template") / "migrated.duckdb"
        with Database(f"duckdb:///{path}") as handle:
            handle.ensure_schema()
        templates["duckdb"] = path
    return templates["duckdb"]  # type: ignore[return-value]


def _pg_template(templates: dict[str, object]) -> str:
    if "postgresql" not in templates:
        name = f"planner_tpl_{uuid.uuid4().hex[:12]}"
        with _pg_admin() as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        with Database(_pg_url_of(name)) as handle:  # closed: a template has no sessions
            handle.ensure_schema()
        templates["postgresql"] = name
    return str(templates["postgresql"])


def _wants_migrated(request: pytest.FixtureRequest) -> bool:
    names = request.node.fixturenames
    return "empty_db" not in names and any(n in names for n in ("db", "duckdb", "postgres"))


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A new PostgreSQL database for this test, dropped afterwards: migrated to head (a
    copy of the session's template) when the test uses `db` or `postgres`, else empty."""
    name = f"planner_t_{uuid.uuid4().hex[:12]}"
    template = ""
    if _wants_migrated(request):
        template = f' TEMPLATE "{_pg_template(request.getfixturevalue("migrated_templates"))}"'
    with _pg_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"{template}')
    try:
        yield _pg_url_of(name)
    finally:
        _dropper.drop(name)


def _duckdb_url(request: pytest.FixtureRequest, path: Path) -> str:
    """A DuckDB file for this test: a copy of the migrated template when the test uses a
    migrated database (`db`, `duckdb`), else no file at all."""
    if _wants_migrated(request) and not path.exists():
        template = _duckdb_template(
            request.getfixturevalue("migrated_templates"),
            request.getfixturevalue("tmp_path_factory"),
        )
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        shutil.copy2(template, path)  # with its mode: planner's files are private
    return f"duckdb:///{path}"


@pytest.fixture(params=["duckdb", "postgresql"])
def database_url(request: pytest.FixtureRequest, planner_home: Path) -> str:
    """Each test using this runs once on a DuckDB file and once on PostgreSQL."""
    if request.param == "duckdb":
        return _duckdb_url(request, planner_home / "test.duckdb")
    return request.getfixturevalue("pg_url")


@pytest.fixture
def home_db(planner_home: Path) -> Iterator[Database]:
    """The database a planner process of this test uses by default (DuckDB in PLANNER_HOME),
    for tests that run the CLI or the dashboard and look at what they stored."""
    with Database(f"duckdb:///{planner_home / 'planner.duckdb'}") as handle:
        yield handle


@pytest.fixture
def service(home_db: Database) -> Iterator[GenerationService]:
    """A generation service on `home_db` and the default bus, as a front end makes one."""
    made = GenerationService(home_db)
    yield made
    made.shutdown(cancel=True)


@pytest.fixture
def empty_db(database_url: str) -> Iterator[Database]:
    """The test's Database before any migration (DuckDB file or fresh PostgreSQL)."""
    with Database(database_url) as handle:
        yield handle


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """The test's Database (DuckDB file or fresh PostgreSQL database), migrated to head."""
    with Database(database_url) as handle:
        handle.ensure_schema()
        yield handle


@pytest.fixture
def duckdb(planner_home: Path, request: pytest.FixtureRequest) -> Iterator[Database]:
    """A migrated DuckDB Database, for tests of what only DuckDB does."""
    with Database(_duckdb_url(request, planner_home / "test.duckdb")) as handle:
        handle.ensure_schema()
        yield handle


@pytest.fixture
def postgres(pg_url: str) -> Iterator[Database]:
    """A migrated PostgreSQL Database, for tests of what only PostgreSQL does."""
    with Database(pg_url) as handle:
        handle.ensure_schema()
        yield handle


@pytest.fixture
def generation_id(db: Database) -> uuid.UUID:
    """A fresh `running` generation row of the local user."""
    return stored_generation(db)


def stored_generation(db: Database) -> uuid.UUID:
    """A new `running` generation row of the local user (schema made if missing)."""
    db.ensure_schema()
    user = get_or_create_local_user(db)
    return (
        GenerationStore(db)
        .create(
            user_id=user.id,
            description="test",
            strategy="resume",
            fault_spec="none",
            model="claude-sonnet-5-5",
            seed=0,
            speed=1.0,
        )
        .generation_id
    )


REPO_ROOT = Path(__file__).resolve().parent.parent
# A current model that still accepts an assistant prefill, for the tests of that resume path
# (the default model refuses prefill, as every 4.6+ and 5.x model does).
PREFILL_MODEL = "claude-haiku-4-5"


def cli_env(**extra: str) -> dict[str, str]:
    """The environment for a `python -m planner` subprocess: this checkout's code first."""
    env = {k: v for k, v in os.environ.items() if k not in _PLANNER_VARS or k == "PLANNER_HOME"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


@pytest.fixture
def run_cli():  # noqa: ANN201
    """Run `planner ARGS...` in a subprocess, as a user would; returns CompletedProcess."""
    import subprocess
    import sys

    def run(*args: str, input: str | None = None, timeout: float = 120, **env: str):  # noqa: A002, ANN202
        return subprocess.run(
            [sys.executable, "-m", "planner", *args],
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=cli_env(**env),
            cwd=REPO_ROOT,
        )

    return run


@pytest.fixture
def invoke():  # noqa: ANN201
    """Run `planner ARGS...` in this process with click's CliRunner (settings read afresh
    from the environment, plus `env`); returns click's Result (exit_code, stdout, stderr)."""
    from click.testing import CliRunner

    from planner.cli import main

    def run(*args: str, input: str | None = None, **env: str):  # noqa: A002, ANN202
        reset_settings()
        try:
            return CliRunner().invoke(
                main, list(args), input=input, env=env, catch_exceptions=False
            )
        finally:
            reset_settings()

    return run


def planner_stderr(result) -> list[str]:  # noqa: ANN001 (click's Result)
    """The lines an in-process `invoke` wrote to stderr, less the JSON log records of
    loggers outside planner: the CLI's log handler is the process's, so a record from an
    earlier test's leftovers (asyncio logging a garbage-collected task) can land there."""
    lines = []
    for line in result.stderr.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if isinstance(record, dict) and not str(record.get("logger", "planner")).startswith(
            "planner"
        ):
            continue
        lines.append(line)
    return lines


@pytest.fixture
def anyio_backend() -> str:
    """Async tests (the Socket.IO ones) run on asyncio."""
    return "asyncio"


@pytest.fixture
async def clients():  # noqa: ANN201
    """Socket.IO test clients made during a test, closed after it."""
    made: list = []
    yield made
    for client in made:
        await client.close()
