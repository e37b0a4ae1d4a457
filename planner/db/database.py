"""`Database`: the one handle on planner's database, made at the edges and passed in.

A front end (the CLI, the dashboard, `planner serve`, a notebook, a test) makes one
`Database` from the settings and hands it to the library, the way simonw/llm hands its
`db` to `response.log_to_db(db)`; nothing below resolves a URL or a global engine.

It owns the engine and, on DuckDB, planner's policy for sharing one file between
processes, in one place:
- every connection is short-lived (NullPool) and opened under planner's file lock
  (`duckdb_lock`), which is given back once DuckDB has closed the file;
- lock conflicts are retried as whole units of work (`retry`, `transaction`, `read`,
  `in_session`; the policy is `planner.db.retry`);
- `held()` keeps the file open across a burst of short transactions (`linger`);
- the file, its WAL and the folders made for it are its owner's alone (`duckdb_files`).
PostgreSQL gets an ordinary pool, and the same calls work there unchanged.

A database that cannot be reached (PostgreSQL down or unknown host, a URL that is not
one, a DuckDB file that cannot be opened) raises `DatabaseUnavailable`, one line saying
which database and why.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from planner.config import Settings, get_settings
from planner.db import migrate
from planner.db.duckdb_files import create_private_duckdb, narrow_duckdb_files
from planner.db.duckdb_lock import FileGuard, connect_locked, guard_for
from planner.db.linger import LINGER_S, Linger
from planner.db.retry import LOCK_RETRY_SECONDS, is_lock_conflict, retry_lock_conflicts
from planner.errors import DatabaseUnavailable
from planner.private_files import private_folder

T = TypeVar("T")

PG_CONNECT_TIMEOUT_S = 10


class Database:
    """One database (a SQLAlchemy URL) with planner's connection policy."""

    def __init__(
        self,
        url: str,
        *,
        lock_timeout_s: float = LOCK_RETRY_SECONDS,
        linger_s: float = LINGER_S,
    ) -> None:
        self.url = url
        self.lock_timeout_s = lock_timeout_s
        parsed = _parse(url)
        self.safe_url = parsed.render_as_string(hide_password=True)
        self.backend = parsed.get_backend_name()
        self.is_duckdb = self.backend == "duckdb"
        self.path = _duckdb_path(parsed) if self.is_duckdb else None
        self._guard: FileGuard | None = None
        if self.path is not None:
            try:
                private_folder(self.path.parent)
            except OSError as exc:
                raise self._unavailable(f"cannot create its folder ({exc})") from None
            self._guard = guard_for(self.path)
        self.engine = self._create_engine(parsed)
        self._linger = Linger(self._open_keeper, linger_s) if self.is_duckdb else None
        self._schema_lock = threading.Lock()
        self._at_head = False

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Database:
        """The configured database (`PLANNER_DATABASE_URL`, DuckDB in PLANNER_HOME by default)."""
        settings = settings or get_settings()
        handle = cls(settings.database_url)
        if handle.path is not None and handle.path.parent == settings.home:
            settings.ensure_home()  # narrows a home an older version left 0755
        return handle

    def __repr__(self) -> str:
        return f"Database({self.safe_url!r})"

    # -- engine -------------------------------------------------------------------------
    def _create_engine(self, parsed: URL) -> Engine:
        try:
            if self.is_duckdb:
                engine = create_engine(parsed, poolclass=NullPool)
            else:
                connect_args = {}
                if parsed.get_driver_name() == "psycopg" and "connect_timeout" not in parsed.query:
                    connect_args["connect_timeout"] = PG_CONNECT_TIMEOUT_S
                engine = create_engine(
                    parsed,
                    pool_pre_ping=True,
                    pool_size=10,
                    max_overflow=20,
                    connect_args=connect_args,
                )
        except (NoSuchModuleError, ModuleNotFoundError, ArgumentError) as exc:
            raise self._unavailable(f"no driver for it ({exc})") from None
        event.listen(engine, "do_connect", self._do_connect)
        if self.path is not None:
            # DuckDB makes its WAL anew with the umask: narrow it once each unit of work ends.
            event.listen(engine, "checkin", lambda *_: narrow_duckdb_files(self.path))
        return engine

    def _do_connect(self, dialect: Any, record: Any, cargs: Any, cparams: Any) -> Any:
        """Every DBAPI connection opens here: under the file lock on DuckDB, and any
        failure to open that is not a lock conflict becomes DatabaseUnavailable."""

        def connect() -> Any:
            if self.path is not None:
                create_private_duckdb(self.path)
            connection = dialect.connect(*cargs, **cparams)
            if self.path is not None:
                narrow_duckdb_files(self.path)
            return connection

        try:
            if self._guard is not None:
                return connect_locked(self._guard, connect)
            return connect()
        except Exception as exc:
            if is_lock_conflict(exc):
                raise
            raise self._unavailable(_first_line(exc)) from exc

    def _unavailable(self, reason: str) -> DatabaseUnavailable:
        return DatabaseUnavailable(f"cannot use the database {self.safe_url}: {reason}")

    def _open_keeper(self) -> Any:
        return self.retry(self.engine.raw_connection)

    # -- units of work ------------------------------------------------------------------
    def retry(self, operation: Callable[[], T]) -> T:
        """Run a whole unit of work, again after a DuckDB lock conflict (until the timeout)."""
        if not self.is_duckdb:
            return operation()
        return retry_lock_conflicts(operation, timeout_s=self.lock_timeout_s)

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection (no transaction of its own beyond SQLAlchemy's autobegin)."""
        with self.engine.connect() as connection:
            yield connection

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A connection in a transaction: committed at the end, rolled back on error."""
        with self.engine.begin() as connection:
            yield connection

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One ORM transaction: commit on success, roll back on error, always close."""
        session = Session(bind=self.engine, expire_on_commit=False)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def transaction(self, work: Callable[[Connection], T]) -> T:
        """`work(connection)` in one transaction, retried as a whole on lock conflicts."""

        def attempt() -> T:
            with self.begin() as connection:
                return work(connection)

        return self.retry(attempt)

    def read(self, work: Callable[[Connection], T]) -> T:
        """`work(connection)` on a fresh connection, retried on lock conflicts."""

        def attempt() -> T:
            with self.connect() as connection:
                return work(connection)

        return self.retry(attempt)

    def in_session(self, work: Callable[[Session], T]) -> T:
        """`work(session)` in one ORM transaction, retried as a whole on lock conflicts."""

        def attempt() -> T:
            with self.session() as session:
                return work(session)

        return self.retry(attempt)

    def autocommit(self) -> Connection:
        """A connection of the caller's own in autocommit mode (the caller closes it)."""
        return self.retry(self.engine.connect).execution_options(isolation_level="AUTOCOMMIT")

    @contextmanager
    def held(self) -> Iterator[None]:
        """DuckDB: keep the file open for this block and a moment after, so the block's
        transactions (and those of other threads meanwhile) share one open file.
        PostgreSQL: nothing to do."""
        if self._linger is None:
            yield
            return
        self._linger.acquire()
        try:
            yield
        finally:
            self._linger.release()

    # -- schema -------------------------------------------------------------------------
    def ensure_schema(self) -> None:
        """Migrate to head if the database is not there yet; cheap once it is."""
        if self._at_head:
            return
        with self._schema_lock:
            if not self._at_head:
                if self.current_revision() != migrate.head_revision():
                    self.upgrade()
                self._at_head = True

    def upgrade(self, revision: str = "head") -> None:
        self._at_head = False
        self.retry(lambda: migrate.upgrade(self, revision))

    def downgrade(self, revision: str = "base") -> None:
        self._at_head = False
        self.retry(lambda: migrate.downgrade(self, revision))

    def current_revision(self) -> str | None:
        """The revision the database is at (None: empty or never migrated)."""
        return self.read(migrate.current_revision)

    # -- the end ------------------------------------------------------------------------
    def close(self) -> None:
        """Close every connection this handle keeps (pool and DuckDB keeper)."""
        if self._linger is not None:
            self._linger.close()
        self.engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _parse(url: str) -> URL:
    try:
        return make_url(url)
    except ArgumentError:
        raise DatabaseUnavailable(
            f"cannot use the database {url!r}: it is not a database URL "
            "(e.g. duckdb:///path/planner.duckdb or postgresql+psycopg://user@host/db)"
        ) from None


def _duckdb_path(url: URL) -> Path | None:
    if not url.database or url.database == ":memory:":
        return None
    return Path(url.database).expanduser()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0].strip()
