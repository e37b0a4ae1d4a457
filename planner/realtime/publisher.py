"""Events of a process's bus, published to every Socket.IO node through Redis.

Any process that runs generations (the CLI, the dashboard, a server) and has
`PLANNER_REDIS_URL` attaches one publisher to its bus, at its start (`publishing()` or
`attach_publisher`): a bus subscriber that publishes each event on a Redis channel with
redis-py. Every Socket.IO node subscribed to that channel (`relay.RedisRelay`) emits it to
its own clients in the generation's room. One publisher per process and bus publishes on
one Redis connection from one delivery thread, so events reach Redis, and every node, in
the order they were published.

A channel message is one event exactly as clients receive it, as JSON
(`EventMessage.to_message()`: `name`, `generation_id`, `seq` and the payload); its room
follows from `generation_id`. The channel is `planner-socketio` unless the URL names
another one in its query, `redis://host:6379/0?channel=NAME`, so several planner
installations (or tests) can share one Redis server without seeing each other's events.

Redis being down costs live delivery only: a publish that fails is logged and dropped,
and while Redis stays down the next attempt waits `RETRY_AFTER_S`, so a generation (and
the detach at its end) never waits on it; clients catch up from the database.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from planner.config import get_settings
from planner.events import EventBus, EventMessage, default_bus

log = logging.getLogger(__name__)

DEFAULT_CHANNEL = "planner-socketio"
NAMESPACE = "/"
REDIS_SCHEMES = ("redis", "rediss", "unix")  # what redis-py's from_url accepts
TIMEOUT_S = 2.0
RETRY_AFTER_S = 1.0


def room_for(generation_id: uuid.UUID | str) -> str:
    """The Socket.IO room of one generation: every node and publisher agrees on it."""
    return f"generation:{generation_id}"


def encode_event(message: EventMessage) -> str:
    """One event as a channel message."""
    return json.dumps(message.to_message(), separators=(",", ":"))


def decode_event(data: bytes | str) -> dict[str, Any] | None:
    """The event a channel message carries, or None if it is not one of planner's."""
    try:
        event = json.loads(data)
    except ValueError:
        return None
    well_formed = (
        isinstance(event, dict)
        and isinstance(event.get("name"), str)
        and isinstance(event.get("generation_id"), str)
        and isinstance(event.get("seq"), int)
    )
    return event if well_formed else None


@dataclass(frozen=True)
class RedisTarget:
    """Where Socket.IO nodes meet: a Redis URL (without planner's options) and a channel."""

    url: str
    channel: str = DEFAULT_CHANNEL

    @classmethod
    def parse(cls, redis_url: str) -> RedisTarget:
        """Split `?channel=NAME` off a Redis URL; other query options stay for redis-py."""
        parts = urlsplit(redis_url)
        if parts.scheme.lower() not in REDIS_SCHEMES:
            raise ValueError(
                f"not a Redis URL: {redis_url!r} (expected redis://host:port/db[?channel=NAME])"
            )
        query = parse_qsl(parts.query, keep_blank_values=True)
        channels = [value for key, value in query if key == "channel"]
        if channels and not channels[-1].strip():
            raise ValueError(f"the Redis URL {redis_url!r} names an empty channel")
        rest = urlencode([(key, value) for key, value in query if key != "channel"])
        url = urlunsplit((parts.scheme, parts.netloc, parts.path, rest, parts.fragment))
        return cls(url=url, channel=channels[-1] if channels else DEFAULT_CHANNEL)


class RedisPublisher:
    """A bus subscriber that publishes every event to the Socket.IO nodes through Redis."""

    def __init__(self, bus: EventBus, target: RedisTarget) -> None:
        self.bus = bus
        self.target = target
        self._down_until: float | None = None
        self._redis = redis.Redis.from_url(
            target.url,
            socket_connect_timeout=TIMEOUT_S,
            socket_timeout=TIMEOUT_S,
            retry=Retry(NoBackoff(), 1),
        )
        self._handle: int | None = bus.subscribe(self._publish)

    def _publish(self, message: EventMessage) -> None:
        if self._down_until is not None and time.monotonic() < self._down_until:
            return
        try:
            self._redis.publish(self.target.channel, encode_event(message))
        except redis.RedisError as exc:
            if self._down_until is None:
                log.error("cannot publish events to Redis at %s: %s", self.target.url, exc)
            self._down_until = time.monotonic() + RETRY_AFTER_S
            return
        if self._down_until is not None:
            log.info("publishing events to Redis at %s again", self.target.url)
            self._down_until = None

    def close(self) -> None:
        """Stop publishing once every event already on the bus has gone out."""
        if self._handle is not None:
            self.bus.unsubscribe(self._handle)
            self._handle = None
            self._redis.close()


_lock = threading.Lock()
_publishers: dict[tuple[int, RedisTarget], tuple[RedisPublisher, int]] = {}


def attach_publisher(
    bus: EventBus | None = None, redis_url: str | None = None
) -> RedisPublisher | None:
    """Publish `bus`'s events to every Socket.IO node: one publisher per bus and target.

    `bus` defaults to `default_bus()`, `redis_url` to `PLANNER_REDIS_URL`; without a Redis
    URL this does nothing and returns None, so a front end calls it unconditionally.
    Calling it again returns the publisher already attached (events never go out twice)
    and counts one more user; it keeps publishing until every user has detached it.
    """
    bus = bus or default_bus()
    redis_url = redis_url or get_settings().redis_url
    if not redis_url:
        return None
    key = (id(bus), RedisTarget.parse(redis_url))
    with _lock:
        publisher, users = _publishers.get(key) or (RedisPublisher(bus, key[1]), 0)
        _publishers[key] = (publisher, users + 1)
        return publisher


def detach_publisher(publisher: RedisPublisher) -> None:
    """One user of `attach_publisher` is done; the last one stops the publisher."""
    key = (id(publisher.bus), publisher.target)
    with _lock:
        current, users = _publishers.get(key, (None, 0))
        if current is not publisher:
            return
        if users > 1:
            _publishers[key] = (publisher, users - 1)
            return
        del _publishers[key]
    publisher.close()


@contextlib.contextmanager
def publishing(
    bus: EventBus | None = None, redis_url: str | None = None
) -> Iterator[RedisPublisher | None]:
    """`attach_publisher` for a block: on leaving it, every event has gone out to Redis."""
    publisher = attach_publisher(bus, redis_url)
    try:
        yield publisher
    finally:
        if publisher is not None:
            detach_publisher(publisher)
