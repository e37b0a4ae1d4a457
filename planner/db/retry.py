"""Retrying DuckDB lock conflicts: which errors are worth waiting for, and how long.

Two kinds of DuckDB error mean "try again shortly": another process holds the file
(DuckDB's own lock, or planner's `DuckDBFileBusy` with the same words), and, inside one
process, an optimistic-concurrency conflict between two writers. A whole unit of work
(open, do it, commit) is retried with jittered exponential backoff (tenacity) until a
deadline; then `DatabaseLockedError` names the process that held the file. Sleep and
clock are parameters, so the policy is tested without waiting.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

import tenacity

from planner.errors import DatabaseError

T = TypeVar("T")

LOCK_RETRY_SECONDS = 30.0
FIRST_DELAY_S = 0.01
MAX_DELAY_S = 0.5

# DuckDB's own words (checked against duckdb 1.5/2.0 by opening one file from two
# processes): `IO Error: Could not set lock on file "...": Conflicting lock is held in
# /usr/bin/python3 (PID 123)`. Inside one process, concurrent writers instead meet
# optimistic-concurrency conflicts, which DuckDB says to retry as well.
_LOCK_MARKERS = ("could not set lock on file", "conflicting lock is held")
_CONFLICT_MARKERS = ("write-write conflict", "transactioncontext error: conflict")
_HOLDER = re.compile(r"Conflicting lock is held in (.+?) \(PID (\d+)\)")


class DatabaseLockedError(DatabaseError):
    """Another process kept the DuckDB file locked for longer than we were willing to wait."""


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, the DBAPI error SQLAlchemy wraps, and their causes."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending += [getattr(current, "orig", None), current.__cause__, current.__context__]


def is_lock_conflict(exc: BaseException) -> bool:
    """True for DuckDB's file-lock and transaction-conflict errors (worth retrying)."""
    for error in _chain(exc):
        text = str(error).lower()
        if any(marker in text for marker in _LOCK_MARKERS + _CONFLICT_MARKERS):
            return True
    return False


def _holder(exc: BaseException | None) -> str:
    for error in _chain(exc) if exc is not None else ():
        found = _HOLDER.search(str(error))
        if found:
            return f" (held by PID {found.group(2)}, {found.group(1)})"
    return ""


def retry_lock_conflicts(
    operation: Callable[[], T],
    *,
    timeout_s: float = LOCK_RETRY_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Run `operation`, retrying DuckDB lock conflicts until `timeout_s` has passed.

    `operation` must be a whole unit of work: it may run several times. Any other error
    passes through at once; after the deadline, DatabaseLockedError (from the last
    conflict).
    """
    deadline = clock() + timeout_s
    backoff = tenacity.wait_exponential_jitter(
        multiplier=FIRST_DELAY_S, max=MAX_DELAY_S, jitter=FIRST_DELAY_S
    )

    def wait(state: tenacity.RetryCallState) -> float:
        return max(0.0, min(backoff(state), deadline - clock()))

    def give_up(state: tenacity.RetryCallState) -> T:
        last = state.outcome.exception() if state.outcome is not None else None
        raise DatabaseLockedError(
            f"the database stayed locked by another process{_holder(last)} for "
            f"{timeout_s:g} s ({state.attempt_number} attempts); close that process, or set "
            "PLANNER_DATABASE_URL to PostgreSQL for shared use"
        ) from last

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception(is_lock_conflict),
        wait=wait,
        stop=lambda state: clock() >= deadline,
        sleep=sleep,
        retry_error_callback=give_up,
    )
    return retrying(operation)
