"""A wall at the transport: a flooding connection's frames stop before Engine.IO reads them.

The event buckets (`limits`) refuse a flood cheaply, but not cheaply enough: by the time
a Socket.IO handler can refuse an event, Engine.IO has decoded its frame and python-socketio
has started a task for it (one per frame, `async_handlers`), and a flood of 10,000 events
on one WebSocket is 10,000 tasks queued ahead of everyone else's answers before the first
refusal disconnects it. `FrameWall` is plain ASGI middleware in front of `socketio.ASGIApp`
that counts a connection's frames with a second, larger token bucket:

- a WebSocket connection may send `EventLimits.frame_burst` frames at once (twice its
  event burst plus the refusals that disconnect it) and `frame_rate` a second (twice its
  event rate: room for pongs and binary attachments). Within that, every frame passes and
  the event buckets answer as before: a client over its event rate gets `rate_limited`
  and is disconnected after `disconnect_after` refusals, well inside the wall;
- the frame beyond the wall is dropped, and no later frame of that connection is read
  at all: the server's WebSocket stops reading a connection whose frames nobody takes,
  so the rest of the flood waits in the flooder's own socket (a client that flooded this
  far has stopped reading its answers anyway) until the server drops it after its close
  timeout. Likewise once the server ends a connection (it sends a close packet: the event
  buckets disconnected it): Engine.IO is told at once that the connection has ended, and
  the frames still on their way are never read. If Engine.IO has not ended a walled
  connection `wall_grace_s` later (its frames carried no event the buckets would refuse,
  say), the wall closes it with WebSocket code 1008 and a reason;
- an HTTP long-polling POST carries many packets in one body: it takes one token per
  packet from its session's bucket, and a body over it is answered `429` without reaching
  Engine.IO, which ends that session for the client.

Every refusal is logged once per connection. The bucket's clock is the endpoint's
injected limit clock; the grace is a real delay (it only decides how long an already
dropped connection stays open).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from planner.realtime.limits import EventLimits, TokenBucket, bucket_of

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

POLICY_VIOLATION = 1008  # RFC 6455: the peer broke the endpoint's policy
# What the server sends when it ends a connection, after which the client closes it: the
# Engine.IO v4 close packet, and the Socket.IO v5 disconnect of the default namespace (the
# endpoint's only one; a client left with no namespace closes its connection).
CLOSING_PACKETS = frozenset({"1", "41"})
PACKET_SEPARATOR = b"\x1e"  # Engine.IO v4 joins a polling payload's packets with it


@dataclass
class WallCounts:
    """What the wall has done since the endpoint started (read by tests and logs)."""

    walled: int = 0  # connections or polling requests stopped at the wall
    passed_frames: int = 0  # WebSocket frames handed to Engine.IO
    closed_by_wall: int = 0  # WebSocket connections the wall closed itself (code 1008)


class _Connection:
    """One WebSocket connection's frame bucket, and how far it is from closed."""

    def __init__(self, bucket: TokenBucket) -> None:
        self.bucket = bucket
        self.walled = False
        self.closing = asyncio.Event()  # Engine.IO or the wall has begun to close it
        self.closed_by_wall = False

    @property
    def reading(self) -> bool:
        return not (self.walled or self.closing.is_set())

    def sent(self, message: Message) -> None:
        """Note what the server sends: a close packet or the WebSocket close."""
        if message["type"] == "websocket.close" or (
            message["type"] == "websocket.send" and message.get("text") in CLOSING_PACKETS
        ):
            self.closing.set()

    async def rest(self) -> Message:
        """What Engine.IO reads once it gets no more frames: the end of the connection, as
        soon as the server has begun to close it. No frame is read after the one at the
        wall, nor after the close: the server's WebSocket stops reading frames nobody takes,
        so the rest of a flood waits in the flooder's own socket (the server ends it after
        its close timeout) instead of costing this node a parse each."""
        await self.closing.wait()
        return {"type": "websocket.disconnect", "code": POLICY_VIOLATION}


class FrameWall:
    """ASGI middleware: `app` behind a per-connection frame bucket (see the module)."""

    def __init__(
        self,
        app: ASGIApp,
        limits: EventLimits,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.limits = limits
        self.clock = clock
        self.counts = WallCounts()
        self._polling: dict[str, TokenBucket] = {}
        self._pending: set[asyncio.Task[None]] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
        elif scope["type"] == "http" and scope.get("method") == "POST":
            await self._polling_post(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    # ---- WebSocket ----------------------------------------------------------------

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        limits = self.limits
        connection = _Connection(TokenBucket(limits.frame_burst, limits.frame_rate, self.clock))

        async def walled_receive() -> Message:
            if not connection.reading:
                return await connection.rest()
            message = await receive()
            if message["type"] != "websocket.receive":
                return message
            if not connection.reading:  # closed while this read waited
                return await connection.rest()
            if connection.bucket.take():
                self.counts.passed_frames += 1
                return message
            connection.walled = True
            self._walled(scope)
            self._close_after_grace(connection, send)
            return await connection.rest()

        async def closing_send(message: Message) -> None:
            if connection.closed_by_wall:
                return  # Engine.IO's late writes go nowhere
            connection.sent(message)
            await send(message)

        await self.app(scope, walled_receive, closing_send)

    def _walled(self, scope: Scope) -> None:
        self.counts.walled += 1
        client = scope.get("client") or ("?", 0)
        log.warning(
            "Socket.IO connection from %s sent more than %d frames at once and %g a second; "
            "its further frames are dropped unread",
            client[0],
            self.limits.frame_burst,
            self.limits.frame_rate,
        )

    def _close_after_grace(self, connection: _Connection, send: Send) -> None:
        async def close() -> None:
            await asyncio.sleep(self.limits.wall_grace_s)
            if connection.closing.is_set():
                return  # Engine.IO closes it (the event buckets disconnected it)
            connection.closed_by_wall = True
            connection.closing.set()
            self.counts.closed_by_wall += 1
            try:
                await send(
                    {
                        "type": "websocket.close",
                        "code": POLICY_VIOLATION,
                        "reason": "too many frames: this connection was closed",
                    }
                )
            except Exception as exc:  # the client went away first
                log.debug("closing a walled connection: %s", exc)

        task = asyncio.create_task(close())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    # ---- HTTP long-polling --------------------------------------------------------

    async def _polling_post(self, scope: Scope, receive: Receive, send: Send) -> None:
        sid = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("sid", [""])[0]
        messages: list[Message] = []
        body = bytearray()
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        if sid and not self._polling_allows(sid, body.count(PACKET_SEPARATOR) + 1):
            self._walled(scope)
            await _too_many(send)
            return
        replay = iter(messages)

        async def replayed() -> Message:
            message = next(replay, None)
            return message if message is not None else await receive()

        await self.app(scope, replayed, send)

    def _polling_allows(self, sid: str, packets: int) -> bool:
        bucket = bucket_of(
            self._polling, sid, self.limits.frame_burst, self.limits.frame_rate, self.clock
        )
        return bucket.take(packets)


async def _too_many(send: Send) -> None:
    body = b"too many packets: this session sent more than the endpoint allows"
    await send(
        {
            "type": "http.response.start",
            "status": 429,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
