"""From the generator's bus to the Socket.IO rooms, in order, on one node.

Without Redis, a `LocalRelay` subscribes to the bus; the bus's delivery thread hands each
event to the event loop, where a single task emits them one after another, so a room sees
a generation's events in `seq` order. With Redis, the node's own bus is published through
Redis like any other process's (`attach_publisher`) and a `RedisRelay` emits what arrives
on the channel, in the order Redis delivers it. Both note, per generation, the highest
`seq` this node has emitted: catch-up uses it to wait for the recorder rather than answer
from a database that has not yet stored an event the client may have missed.

The Redis side is redis-py's public pub/sub API: the relay subscribes before the node
serves anyone and returns only once Redis confirmed the subscription, so nothing
published after the node started is missed. python-socketio's own Redis manager has no
public way to say when it listens, nor to see each event before it is emitted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Any

import socketio
from redis import RedisError
from redis import asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from planner.events import EventBus, EventMessage
from planner.realtime.errors import RealtimeStartError
from planner.realtime.publisher import NAMESPACE, RedisTarget, decode_event, room_for

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 5.0
RECONNECT_MAX_S = 30.0


class HighWater:
    """The highest seq this node has emitted, per generation id (as text)."""

    def __init__(self) -> None:
        self._seqs: dict[str, int] = {}

    def note(self, generation_id: str, seq: int) -> None:
        if seq > self._seqs.get(generation_id, 0):
            self._seqs[generation_id] = seq

    def get(self, generation_id: uuid.UUID) -> int:
        return self._seqs.get(str(generation_id), 0)


async def emit_event(
    sio: socketio.AsyncServer, high_water: HighWater, event: dict[str, Any]
) -> None:
    """Note one event's seq, then emit it to its generation's room on this node."""
    high_water.note(event["generation_id"], event["seq"])
    try:
        await sio.emit(
            event["name"], event, room=room_for(event["generation_id"]), namespace=NAMESPACE
        )
    except Exception:
        log.exception("could not emit %s #%s", event["name"], event["seq"])


class LocalRelay:
    """Emits one process's bus events to local rooms, strictly in publish order."""

    def __init__(self, sio: socketio.AsyncServer, bus: EventBus, high_water: HighWater) -> None:
        self.sio = sio
        self.bus = bus
        self.high_water = high_water
        self._queue: asyncio.Queue[EventMessage] = asyncio.Queue()
        self._loop = asyncio.get_running_loop()
        self._task = self._loop.create_task(self._run(), name="planner-realtime-relay")
        self._handle: int | None = bus.subscribe(self._from_bus)

    def _from_bus(self, message: EventMessage) -> None:
        self._loop.call_soon_threadsafe(self._queue.put_nowait, message)

    async def _run(self) -> None:
        while True:
            message = await self._queue.get()
            await emit_event(self.sio, self.high_water, message.to_message())

    async def close(self) -> None:
        if self._handle is not None:
            handle, self._handle = self._handle, None
            await asyncio.to_thread(self.bus.unsubscribe, handle)
        self._task.cancel()


class RedisRelay:
    """Emits every event on the Redis channel to local rooms, in the order Redis sends them."""

    def __init__(
        self, sio: socketio.AsyncServer, target: RedisTarget, high_water: HighWater
    ) -> None:
        self.sio = sio
        self.target = target
        self.high_water = high_water
        self._redis = aioredis.Redis.from_url(
            target.url, socket_connect_timeout=CONNECT_TIMEOUT_S, retry=Retry(NoBackoff(), 1)
        )
        self._pubsub = self._redis.pubsub()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Subscribe, or RealtimeStartError saying where Redis did not answer."""
        try:
            await asyncio.wait_for(self._subscribe(), CONNECT_TIMEOUT_S)
        except (RedisError, OSError, TimeoutError) as exc:
            await self.close()
            reason = str(exc) or type(exc).__name__
            raise RealtimeStartError(
                f"Redis at {self.target.url} does not answer: {reason}"
            ) from None
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name="planner-realtime-redis-relay"
        )

    async def _subscribe(self) -> None:
        await self._pubsub.subscribe(self.target.channel)
        # Redis confirms before it sends the channel's first message to this connection.
        confirmation = await self._pubsub.get_message(timeout=CONNECT_TIMEOUT_S)
        if confirmation is None or confirmation["type"] != "subscribe":
            raise RedisError(f"it did not confirm the subscription to {self.target.channel!r}")

    async def _run(self) -> None:
        delay_s = 1.0
        while True:
            try:
                async for message in self._pubsub.listen():
                    delay_s = 1.0
                    event = decode_event(message["data"]) if message["type"] == "message" else None
                    if event is not None:
                        await emit_event(self.sio, self.high_water, event)
                return
            except (RedisError, OSError) as exc:
                # redis-py reconnects and subscribes again on the next read.
                log.error("lost Redis at %s (%s); again in %.0f s", self.target.url, exc, delay_s)
                await asyncio.sleep(delay_s)
                delay_s = min(delay_s * 2, RECONNECT_MAX_S)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._pubsub.aclose()
        await self._redis.aclose()
