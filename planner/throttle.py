"""Login throttling: failed attempts counted per account and per client, in sliding windows.

Guessing passwords must cost the guesser time. Two limits, each a sliding window of
*failed* attempts (a right password is never what the limit is about):

- per account (the username, case-folded, known or not, so the answer says nothing about
  whether the user exists): many clients guessing one password;
- per client (the address the front end sees): one client trying many accounts.

Once either window is full the attempt is refused before the password is even checked
(which also keeps a flood from burning argon2 time), with `TooManyAttempts` saying when
to try again: "Too many attempts; try again in N s". A successful login clears its
account's window. Sign-ups have a window of their own per client (`SignupThrottle`):
creating accounts costs an argon2 hash each and must not be free either.

Given a Database, the windows live in it (`StoredWindow`, table `login_attempts`), so
every dashboard process on one database counts the same attempts and a restart forgets
none; keys are stored as SHA-256 digests, never as the name or address typed. Without
one they live in the process's memory (`SlidingWindow`). Between processes the check and
the count are two statements, not one: attempts racing at the same instant in several
processes can pass a full window by at most one each. The clock is injected, so tests
move time instead of waiting.

The per-account limit lets anyone hold an account's logins back for one window by
failing on purpose; the window is short (5 minutes) so that costs the owner minutes,
never the account.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

from sqlalchemy import delete, insert, select

from planner import auth
from planner.db import Database, LoginAttempt, User
from planner.errors import AuthError

ACCOUNT_FAILURES = 5
CLIENT_FAILURES = 20
WINDOW_S = 300.0
SIGNUPS_PER_CLIENT = 5
SIGNUP_WINDOW_S = 3600.0
MAX_KEYS = 100_000  # beyond this many tracked keys, expired ones are dropped


class TooManyAttempts(AuthError):
    """Refused before checking the password; `retry_after_s` says when to try again."""

    def __init__(self, retry_after_s: float) -> None:
        self.retry_after_s = max(1, math.ceil(retry_after_s))
        super().__init__(f"Too many attempts; try again in {self.retry_after_s} s")


class Window(Protocol):
    limit: int
    window_s: float

    def retry_after(self, key: str, now: float) -> float | None: ...
    def add(self, key: str, now: float) -> None: ...
    def clear(self, key: str) -> None: ...
    def discard(self, key: str, stamp: float) -> None: ...


def _check_window(limit: int, window_s: float) -> None:
    if limit < 1 or window_s <= 0:
        raise ValueError("a sliding window needs a limit of at least 1 and a positive length")


class SlidingWindow:
    """At most `limit` events per key in any `window_s` seconds, in this process's memory."""

    def __init__(self, limit: int, window_s: float) -> None:
        _check_window(limit, window_s)
        self.limit = limit
        self.window_s = window_s
        self._events: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float]:
        events = self._events.get(key)
        if events is None:
            return deque()
        while events and events[0] <= now - self.window_s:
            events.popleft()
        if not events:
            del self._events[key]
        return events

    def retry_after(self, key: str, now: float) -> float | None:
        """Seconds until `key` may act again, or None if it may act now."""
        events = self._recent(key, now)
        if len(events) < self.limit:
            return None
        return events[-self.limit] + self.window_s - now

    def add(self, key: str, now: float) -> None:
        if len(self._events) >= MAX_KEYS:
            for stale in list(self._events):
                self._recent(stale, now)
        self._events.setdefault(key, deque()).append(now)

    def clear(self, key: str) -> None:
        self._events.pop(key, None)

    def discard(self, key: str, stamp: float) -> None:
        """Undo one event of `key` made at `stamp`."""
        events = self._events.get(key)
        if events is not None and stamp in events:
            events.remove(stamp)


def _digest(key: object) -> str:
    return hashlib.sha256(str(key).encode("utf-8", "surrogatepass")).hexdigest()


class StoredWindow:
    """A `SlidingWindow` kept in the database (`login_attempts`), shared by every process
    on it; `kind` names the window (several share the table). Stamps are epoch seconds."""

    def __init__(self, db: Database, kind: str, limit: int, window_s: float) -> None:
        _check_window(limit, window_s)
        self.db = db
        self.kind = kind
        self.limit = limit
        self.window_s = window_s

    def _mine(self, key: str) -> tuple:
        return (LoginAttempt.kind == self.kind, LoginAttempt.key == _digest(key))

    def retry_after(self, key: str, now: float) -> float | None:
        stamps = self.db.read(
            lambda conn: conn.scalars(
                select(LoginAttempt.at_s)
                .where(*self._mine(key), LoginAttempt.at_s > now - self.window_s)
                .order_by(LoginAttempt.at_s)
            ).all()
        )
        if len(stamps) < self.limit:
            return None
        return stamps[-self.limit] + self.window_s - now

    def add(self, key: str, now: float) -> None:
        def write(conn) -> None:  # noqa: ANN001
            conn.execute(
                delete(LoginAttempt).where(
                    LoginAttempt.kind == self.kind, LoginAttempt.at_s <= now - self.window_s
                )
            )
            conn.execute(insert(LoginAttempt).values(kind=self.kind, key=_digest(key), at_s=now))

        self.db.transaction(write)

    def clear(self, key: str) -> None:
        self.db.transaction(lambda conn: conn.execute(delete(LoginAttempt).where(*self._mine(key))))

    def discard(self, key: str, stamp: float) -> None:
        """Undo one event of `key` made at `stamp`."""
        self.db.transaction(
            lambda conn: conn.execute(
                delete(LoginAttempt).where(*self._mine(key), LoginAttempt.at_s == stamp)
            )
        )


def _clock(db: Database | None, clock: Callable[[], float] | None) -> Callable[[], float]:
    """The given clock, else: stored stamps are compared across processes, so wall-clock
    epoch seconds; stamps in memory stay in one process, so monotonic ones."""
    return clock or (time.monotonic if db is None else time.time)


def _window(db: Database | None, kind: str, limit: int, window_s: float) -> Window:
    return SlidingWindow(limit, window_s) if db is None else StoredWindow(db, kind, limit, window_s)


class LoginThrottle:
    """The per-account and per-client limits of logins: in `db` (every process on it
    shares them) or, without one, in this process's memory."""

    def __init__(
        self,
        db: Database | None = None,
        *,
        account_failures: int = ACCOUNT_FAILURES,
        client_failures: int = CLIENT_FAILURES,
        window_s: float = WINDOW_S,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.accounts = _window(db, "account", account_failures, window_s)
        self.clients = _window(db, "client", client_failures, window_s)
        self.clock = _clock(db, clock)
        self._lock = threading.Lock()

    def begin(self, username: str, client: str) -> float:
        """Count an attempt as failed until it succeeds; TooManyAttempts if over a limit.

        Counting before the password is checked means concurrent guesses cannot all pass
        the check before any of them is recorded. Returns the attempt's stamp.
        """
        with self._lock:
            now = self.clock()
            account = _account(username)
            waits = [
                wait
                for wait in (
                    self.accounts.retry_after(account, now),
                    self.clients.retry_after(client, now),
                )
                if wait is not None
            ]
            if waits:
                raise TooManyAttempts(max(waits))
            self.accounts.add(account, now)
            self.clients.add(client, now)
            return now

    def succeeded(self, username: str, client: str, stamp: float) -> None:
        """A right password: the account's window is cleared, the client's attempt undone."""
        with self._lock:
            self.accounts.clear(_account(username))
            self.clients.discard(client, stamp)

    def authenticate(self, db: Database, username: str, password: str, *, client: str) -> User:
        """`planner.auth.authenticate` under both limits; TooManyAttempts when over one."""
        stamp = self.begin(username, client)
        user = auth.authenticate(db, username, password)  # raises: the attempt stays counted
        self.succeeded(username, client, stamp)
        return user


class SignupThrottle:
    """At most `limit` sign-up attempts per client in `window_s`: every attempt counts, a
    refused one too (a taken or invalid name), or probing names would be free."""

    def __init__(
        self,
        db: Database | None = None,
        *,
        limit: int = SIGNUPS_PER_CLIENT,
        window_s: float = SIGNUP_WINDOW_S,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.clients = _window(db, "signup", limit, window_s)
        self.clock = _clock(db, clock)
        self._lock = threading.Lock()

    def create_user(self, db: Database, username: str, password: str, *, client: str) -> User:
        """`planner.auth.create_user` under the client's limit; TooManyAttempts when over."""
        with self._lock:
            now = self.clock()
            wait = self.clients.retry_after(client, now)
            if wait is not None:
                raise TooManyAttempts(wait)
            self.clients.add(client, now)
        return auth.create_user(db, username, password)


def _account(username: str) -> str:
    return username.strip().casefold() if isinstance(username, str) else ""
