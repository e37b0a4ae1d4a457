"""Fair sharing of one Socket.IO node: a token bucket per connection, a pool for reads.

One client sending 5 x 2,000 events once made another user wait 5.5-7.9 s for an answer
(70 ms idle): every event verified its token and read the database on the event loop's
default thread pool, which the flood filled. Now:

- each connection has a token bucket (`EventLimits`: `burst` events at once, refilled at
  `per_second`); an event over it is refused at once with code `rate_limited` and the
  time to wait, before any token check or database read, so a flood costs the server a
  little CPU and nothing else. Every refused event gets its acknowledgement; only the
  first of a run of refusals also gets the `error` event (a flood is not answered with a
  flood of events). A connection that goes on regardless (`disconnect_after` refusals
  without ever letting its bucket fill up again, 200 by default) is disconnected after
  an `error` event saying so: the rest of its flood is dropped by Socket.IO, unread;
- a user's connections together have a bucket too (`user_burst`, `user_per_second`:
  twice one connection's), so a client that opens a new connection for every flood gets
  no new budget with it (`rate_limited`, saying so); and opening connections takes from
  a bucket per user (`connect_burst` at once, then `connects_per_second`): one over it
  is refused at connect with code `too_many_connections` and the time to wait;
- the endpoint's database work (token checks, reads, starts) runs on a bounded executor
  of its own (`db_threads`), never the loop's shared default one, and each connection
  has at most `db_per_connection` pieces of it in that executor at once (1 by default):
  the events within a flooder's burst wait their turn on the event loop instead of
  filling every thread, so another connection's read finds a thread free;
- beneath both, the transport's own wall (`planner.realtime.wall`): frames past twice
  what the event buckets allow are dropped before Engine.IO decodes them, so a flood of
  thousands of events costs the node a few hundred handled frames, not a task each;
- the generation service caps each user's queued and running generations
  (`planner.plan.service`), so one user cannot fill the queue either.

The bucket's clock is injected, so tests refuse deterministically instead of racing it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

DEFAULT_EVENTS_PER_S = 20.0
DEFAULT_EVENT_BURST = 40
DEFAULT_DB_THREADS = 4
DEFAULT_DISCONNECT_AFTER = 200  # refused events in a row
DEFAULT_DB_PER_CONNECTION = 1
DEFAULT_USER_EVENT_BURST = 2 * DEFAULT_EVENT_BURST  # across all of one user's connections
DEFAULT_USER_EVENTS_PER_S = 2 * DEFAULT_EVENTS_PER_S
DEFAULT_CONNECT_BURST = 10  # connections one user may open at once
DEFAULT_CONNECTS_PER_S = 0.5  # and then one every 2 s
KEPT_BUCKETS = 1024  # past this many in one table, buckets that rested full are forgotten
DEFAULT_WALL_GRACE_S = 2.0  # a walled connection Engine.IO has not closed, then closed


@dataclass(frozen=True)
class EventLimits:
    """How fast one connection may send events, and how many threads read for the node."""

    per_second: float = DEFAULT_EVENTS_PER_S
    burst: int = DEFAULT_EVENT_BURST
    db_threads: int = DEFAULT_DB_THREADS
    disconnect_after: int = DEFAULT_DISCONNECT_AFTER  # 0: never
    db_per_connection: int = DEFAULT_DB_PER_CONNECTION  # database tasks in flight at once
    wall_grace_s: float = DEFAULT_WALL_GRACE_S  # see planner.realtime.wall
    user_burst: int = DEFAULT_USER_EVENT_BURST
    user_per_second: float = DEFAULT_USER_EVENTS_PER_S
    connect_burst: int = DEFAULT_CONNECT_BURST
    connects_per_second: float = DEFAULT_CONNECTS_PER_S

    @property
    def frame_burst(self) -> int:
        """The frames one connection may send at once before the transport drops the rest
        (`planner.realtime.wall`): twice the events it may send before the event buckets
        disconnect it (twice its burst if they never do)."""
        return 2 * (self.burst + self.disconnect_after)

    @property
    def frame_rate(self) -> float:
        """Frames a second past the burst: twice the events (pongs, binary attachments)."""
        return 2 * self.per_second

    def __post_init__(self) -> None:
        for name in ("per_second", "user_per_second", "connects_per_second"):
            rate = getattr(self, name)
            if not (rate > 0 and math.isfinite(rate)):
                raise ValueError(f"{name.replace('_', ' ')} must be above 0, not {rate!r}")
        if self.user_burst < 1 or self.connect_burst < 1:
            raise ValueError("a user's event burst and connection burst must be at least 1")
        if not (self.wall_grace_s >= 0 and math.isfinite(self.wall_grace_s)):
            raise ValueError(f"the wall's grace must be 0 s or more, not {self.wall_grace_s!r}")
        if self.disconnect_after < 0:
            raise ValueError("disconnect_after must be 0 (never) or more")
        if self.burst < 1 or self.db_threads < 1 or self.db_per_connection < 1:
            raise ValueError(
                "the event burst, the database threads and the database tasks per connection "
                "must be at least 1"
            )


class TokenBucket:
    """`capacity` tokens, refilled at `rate` per second; an event takes one."""

    def __init__(self, capacity: int, rate: float, clock: Callable[[], float]) -> None:
        self.capacity = capacity
        self.rate = rate
        self.clock = clock
        self.tokens = float(capacity)
        self.updated = clock()

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def take(self, count: int = 1) -> bool:
        """Whether `count` events may go ahead now (and if so, they used their tokens)."""
        self._refill()
        if self.tokens >= count:
            self.tokens -= count
            return True
        return False

    def level(self) -> float:
        """The tokens in the bucket now."""
        self._refill()
        return self.tokens

    def wait_s(self) -> float:
        """Seconds until the next token."""
        self._refill()
        return max(0.0, (1 - self.tokens) / self.rate)


class NotConnected(KeyError):
    """An event of a connection the limits no longer know: it has disconnected."""


class ConnectionLimits:
    """The buckets of one node's connections (by sid) and of their users.

    A connection has a bucket of its own, and its user one for all of their connections
    (`user_burst`, `user_per_second`): an event needs a token from both, so a user who
    opens a new connection for every flood gets no new budget with it. Opening connections
    takes from a third bucket per user (`connect_burst`, `connects_per_second`). A user's
    buckets that have rested full are forgotten once there are many (a full bucket is the
    same as a new one), and a connection's when it disconnects: an event of a disconnected
    connection that was still queued is `NotConnected`, and makes no new bucket.
    """

    def __init__(self, limits: EventLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.clock = clock
        self._buckets: dict[str, TokenBucket] = {}
        self._user_of: dict[str, object] = {}
        self._users: dict[object, TokenBucket] = {}
        self._connects: dict[object, TokenBucket] = {}
        self._refused_in_a_row: dict[str, int] = {}

    def open(self, sid: str, user: object) -> float | None:
        """None if `user` may open connection `sid` now (its buckets are made), else the
        seconds until they may."""
        connects = bucket_of(
            self._connects,
            user,
            self.limits.connect_burst,
            self.limits.connects_per_second,
            self.clock,
        )
        if not connects.take():
            return connects.wait_s()
        self._buckets[sid] = TokenBucket(self.limits.burst, self.limits.per_second, self.clock)
        self._user_of[sid] = user
        return None

    def allow(self, sid: str) -> float | None:
        """None if `sid` may send this event now, else the seconds to wait; NotConnected
        if `sid` has disconnected."""
        bucket = self._buckets.get(sid)
        if bucket is None:
            raise NotConnected(sid)
        users = bucket_of(
            self._users,
            self._user_of[sid],
            self.limits.user_burst,
            self.limits.user_per_second,
            self.clock,
        )
        if bucket.level() >= 1 and users.level() >= 1:
            bucket.take()
            users.take()
            if bucket.tokens >= bucket.capacity - 1:  # it had rested to a full bucket
                self._refused_in_a_row[sid] = 0
            return None
        self._refused_in_a_row[sid] = self._refused_in_a_row.get(sid, 0) + 1
        return max(bucket.wait_s(), users.wait_s())

    def user_limited(self, sid: str) -> bool:
        """Whether the user's bucket, not the connection's, refused `sid`'s last event."""
        bucket = self._buckets.get(sid)
        return bucket is not None and bucket.level() >= 1

    def refused_in_a_row(self, sid: str) -> int:
        """How many events of `sid` were refused since its bucket was last full (a flooder
        that keeps the bucket empty never starts afresh, even if a trickle gets through)."""
        return self._refused_in_a_row.get(sid, 0)

    def forget(self, sid: str) -> None:
        self._buckets.pop(sid, None)
        self._user_of.pop(sid, None)
        self._refused_in_a_row.pop(sid, None)


def bucket_of(
    buckets: dict[Any, TokenBucket],
    key: object,
    capacity: int,
    rate: float,
    clock: Callable[[], float],
) -> TokenBucket:
    """`key`'s bucket in a table of them, made full if it has none. Once the table holds
    KEPT_BUCKETS, buckets that have rested full are dropped first: a full bucket is the
    same as a new one, so a table of users or polling sessions cannot grow for ever."""
    bucket = buckets.get(key)
    if bucket is None:
        if len(buckets) >= KEPT_BUCKETS:
            for old in [k for k, b in buckets.items() if b.level() >= b.capacity]:
                del buckets[old]
        bucket = buckets[key] = TokenBucket(capacity, rate, clock)
    return bucket
