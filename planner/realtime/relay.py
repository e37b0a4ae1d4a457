"""From the generator's bus to the Socket.IO rooms, in order, on one node.

Without Redis, a `LocalRelay` subscribes to the bus; the bus's delivery thread hands each
event to the event loop, where a single task emits them one after another, so a room sees
a generation's events in `seq` order. With Redis, the node's own bus is published through
Redis like any other process's (`attach_publisher`) and `TrackingRedisManager` emits what
arrives, in the order Redis delivers it. Both note, per generation, the highest `seq` this
node has emitted: catch-up uses it to wait for the recorder rather than answer from a
database that has not yet stored an event the client may have missed.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from typing import Any

import socketio
from engineio import packet as eio_packet
from socketio import packet

from planner.events import EventBus, EventMessage
from planner.realtime.publisher import NAMESPACE, RedisTarget, room_for

log = logging.getLogger(__name__)

SeenCallback = Callable[[str, int], None]


class HighWater:
    """The highest seq this node has emitted, per generation id (as text)."""

    def __init__(self) -> None:
        self._seqs: dict[str, int] = {}

    def note(self, generation_id: str, seq: int) -> None:
        if seq > self._seqs.get(generation_id, 0):
            self._seqs[generation_id] = seq

    def note_message(self, data: Any) -> None:
        if isinstance(data, dict):
            generation_id, seq = data.get("generation_id"), data.get("seq")
            if isinstance(generation_id, str) and isinstance(seq, int):
                self.note(generation_id, seq)

    def get(self, generation_id: uuid.UUID) -> int:
        return self._seqs.get(str(generation_id), 0)


async def emit_to_room(sio: socketio.AsyncServer, event: str, data: Any, room: str) -> None:
    """Encode an event once and queue it on every socket in the room, in one loop.

    python-socketio's own emit starts an asyncio task per recipient and waits for them
    all, which nearly doubles the server's CPU per delivery with 100 watchers
    (benchmarks/bench_realtime.py). Each of those tasks only queues the packet on its
    socket, so queueing them here in turn delivers the same packets in the same order.
    """
    manager = sio.manager
    if NAMESPACE not in manager.rooms:
        return
    encoded = sio.packet_class(packet.EVENT, namespace=NAMESPACE, data=[event, data]).encode()
    frames = [
        eio_packet.Packet(eio_packet.MESSAGE, part)
        for part in (encoded if isinstance(encoded, list) else [encoded])
    ]
    for _, eio_sid in list(manager.get_participants(NAMESPACE, room)):
        for frame in frames:
            await sio._send_eio_packet(eio_sid, frame)


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
            self.high_water.note(str(message.generation_id), message.seq)
            try:
                await emit_to_room(
                    self.sio, message.name, message.to_message(), room_for(message.generation_id)
                )
            except Exception:
                log.exception("could not emit %s #%s", message.name, message.seq)

    async def close(self) -> None:
        if self._handle is not None:
            handle, self._handle = self._handle, None
            await asyncio.to_thread(self.bus.unsubscribe, handle)
        self._task.cancel()


class TrackingRedisManager(socketio.AsyncRedisManager):
    """The Redis client manager, noting each event's seq before emitting it locally."""

    def __init__(self, target: RedisTarget, high_water: HighWater) -> None:
        super().__init__(target.url, channel=target.channel, logger=log)
        self.high_water = high_water

    async def _handle_emit(self, message: dict[str, Any]) -> None:
        data = message.get("data")
        event_data = data[0] if isinstance(data, list) and len(data) == 1 else None
        self.high_water.note_message(event_data)
        plain_room_event = (
            event_data is not None
            and message.get("room")
            and (message.get("namespace") or NAMESPACE) == NAMESPACE
            and not (message.get("callback") or message.get("binary") or message.get("skip_sid"))
        )
        if plain_room_event:
            await emit_to_room(self.server, message["event"], event_data, message["room"])
        else:
            await super()._handle_emit(message)

    async def check_reachable(self, timeout_s: float = 5.0) -> None:
        """Fail at once, saying where, when Redis does not answer (instead of retrying)."""
        client = self._get_redis_module().Redis.from_url(
            self.redis_url, socket_connect_timeout=timeout_s, socket_timeout=timeout_s
        )
        try:
            await client.ping()
        except Exception as exc:
            raise ConnectionError(f"Redis at {self.redis_url} does not answer: {exc}") from exc
        finally:
            await client.aclose()

    async def wait_subscribed(self, timeout_s: float = 10.0) -> None:
        """Until this node listens on its channel, so nothing published later is missed."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while True:
            pubsub = getattr(self, "pubsub", None)
            if pubsub is not None and pubsub.subscribed:
                counts = await self.redis.pubsub_numsub(self.channel)
                if counts and counts[0][1] >= 1:
                    return
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(
                    f"could not subscribe to Redis channel {self.channel!r} at "
                    f"{self.redis_url} within {timeout_s:.0f} s"
                )
            await asyncio.sleep(0.01)
