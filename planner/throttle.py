"""Login throttling: failed attempts counted per account and per client, in sliding windows.

Guessing passwords must cost the guesser time. Two limits, each a sliding window of
*failed* attempts (a right password is never what the limit is about):

- per account (the username, case-folded, known or not, so the answer says nothing about
  whether the user exists): many clients guessing one password;
- per client (the address the front end sees): one client trying many accounts.

Once either window is full the attempt is refused before the password is even checked
(which also keeps a flood from burning argon2 time), with `TooManyAttempts` saying when
to try again: "Too many attempts; try again in N s". A successful login clears its
account's window. The windows live in the memory of the process that serves logins (the
dashboard, one per server process): a restart forgets them, and several dashboard
processes each keep their own, which multiplies the limits by their number. The clock is
injected, so tests move time instead of waiting.

The per-account limit lets anyone hold an account's logins back for one window by
failing on purpose; the window is short (5 minutes) so that costs the owner minutes,
never the account.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

from planner import auth
from planner.db import Database, User
from planner.errors import AuthError

ACCOUNT_FAILURES = 5
CLIENT_FAILURES = 20
WINDOW_S = 300.0
MAX_KEYS = 100_000  # beyond this many tracked keys, expired ones are dropped


class TooManyAttempts(AuthError):
    """Refused before checking the password; `retry_after_s` says when to try again."""

    def __init__(self, retry_after_s: float) -> None:
        self.retry_after_s = max(1, math.ceil(retry_after_s))
        super().__init__(f"Too many attempts; try again in {self.retry_after_s} s")


class SlidingWindow:
    """At most `limit` events per key in any `window_s` seconds."""

    def __init__(self, limit: int, window_s: float) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError("a sliding window needs a limit of at least 1 and a positive length")
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


class LoginThrottle:
    """The per-account and per-client limits of one process's logins."""

    def __init__(
        self,
        *,
        account_failures: int = ACCOUNT_FAILURES,
        client_failures: int = CLIENT_FAILURES,
        window_s: float = WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.accounts = SlidingWindow(account_failures, window_s)
        self.clients = SlidingWindow(client_failures, window_s)
        self.clock = clock
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


def _account(username: str) -> str:
    return username.strip().casefold() if isinstance(username, str) else ""
