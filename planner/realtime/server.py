"""The Socket.IO endpoint: authenticated connections, owner-only rooms, catch-up.

In front of it all, `wall.FrameWall` stops a flooding connection's frames before Engine.IO
decodes them. Every handler runs through `_guarded`: take a token from the connection's
bucket and its user's (a flood is refused with `rate_limited` before any other work, see
`limits`; a user opening connections too fast is refused at connect), re-verify the
connection's token (an expired token or a deleted user gets an `error` event and is
disconnected), validate the payload with pydantic, then do the work; the database work
runs on the endpoint's own bounded thread pool. A refused request gets an `error` event
`{event, code, message}` and the same `{"error": {...}}` as its acknowledgement; nothing
a handler does can crash the server. Unknown and foreign generation ids get the same
answer, so a client learns nothing about generations that are not theirs.

The front end that hosts it hands over its `Database` and `GenerationService`. What the
server reads (`reads`, that database by default) and its clock (`clock`, for token
expiry) are parameters, so tests can watch a catch-up wait and let a token expire
without sleeping.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import socketio
from pydantic import BaseModel, ValidationError
from socketio.exceptions import ConnectionRefusedError as SocketIORefusal

from planner.db import Database
from planner.events import EventBus, default_bus
from planner.jobs import control
from planner.plan.request import GenerationRequest, GenerationRequestError
from planner.plan.service import GenerationService, TooManyGenerations
from planner.realtime import auth as rt_auth
from planner.realtime import store
from planner.realtime.errors import (
    InvalidPayload,
    NoSuchGeneration,
    NotNow,
    RateLimited,
    RequestRefused,
    ShuttingDown,
    TokenNoLongerValid,
    TooManyGenerationsRefused,
)
from planner.realtime.fanout import FanoutManager
from planner.realtime.limits import ConnectionLimits, EventLimits, NotConnected
from planner.realtime.payloads import CatchUp, GenerationRef, StartGeneration, describe
from planner.realtime.publisher import (
    NAMESPACE,
    RedisPublisher,
    RedisTarget,
    attach_publisher,
    detach_publisher,
    room_for,
)
from planner.realtime.relay import HighWater, LocalRelay, RedisRelay
from planner.realtime.wall import FrameWall
from planner.store import GenerationNotFound, GenerationNotResumable

log = logging.getLogger(__name__)

# The connection whose event the current task handles (each event runs in a task of its
# own), so the database work it does waits for that connection's turn.
_handling: contextvars.ContextVar[str | None] = contextvars.ContextVar("handling", default=None)

P = TypeVar("P", bound=BaseModel)
Reply = dict[str, Any]

CATCH_UP_WAIT_S = 5.0  # the recorder writes DuckDB in batches up to 2 s apart
CATCH_UP_POLL_S = 0.02


class StoredReads(Protocol):
    """What the endpoint reads from the database (`planner.realtime.store`)."""

    def generation_info(self, generation_id: uuid.UUID) -> store.GenerationInfo | None: ...

    def stored_events_after(
        self, generation_id: uuid.UUID, after_seq: int, limit: int
    ) -> store.StoredEvents: ...


def utc_now() -> datetime:
    return datetime.now(UTC)


class RealtimeServer:
    """One Socket.IO node: `app` is the ASGI application to serve."""

    def __init__(
        self,
        *,
        db: Database,
        service: GenerationService,
        bus: EventBus | None = None,
        redis_url: str | None = None,
        catch_up_wait_s: float = CATCH_UP_WAIT_S,
        reads: StoredReads | None = None,
        clock: Callable[[], datetime] = utc_now,
        limits: EventLimits | None = None,
        limit_clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.service = service
        self.bus = bus or default_bus()
        self.redis_url = redis_url
        self.catch_up_wait_s = catch_up_wait_s
        self.reads = reads or store.DatabaseReads(db)
        self.clock = clock
        self.high_water = HighWater()
        self.limits = limits or EventLimits()
        self._buckets = ConnectionLimits(self.limits, limit_clock)
        # The endpoint's database work, off the loop's shared default pool (see limits).
        self._db_pool = ThreadPoolExecutor(self.limits.db_threads, thread_name_prefix="realtime-db")
        self._db_turns: dict[str, asyncio.Semaphore] = {}  # per connection (see limits)
        self._closing = False
        self.sio = socketio.AsyncServer(
            async_mode="asgi",
            client_manager=FanoutManager(),
            # Each event in a task of its own, which sends the acknowledgement after the
            # handler returns: a refusal disconnects only after that task (see _refuse_token).
            async_handlers=True,
            # Tokens, not cookies, authenticate: any origin may connect.
            cors_allowed_origins="*",
            logger=False,
            engineio_logger=False,
        )
        self.wall = FrameWall(
            socketio.ASGIApp(self.sio, on_startup=self.startup, on_shutdown=self.shutdown),
            self.limits,
            limit_clock,
        )
        self.app = self.wall
        self.startup_error: Exception | None = None
        self._relay: LocalRelay | RedisRelay | None = None
        self._publisher: RedisPublisher | None = None
        self._pending: set[asyncio.Task[None]] = set()
        self._register()

    async def startup(self) -> None:
        try:
            if not self.redis_url:
                self._relay = LocalRelay(self.sio, self.bus, self.high_water)
                return
            relay = RedisRelay(self.sio, RedisTarget.parse(self.redis_url), self.high_water)
            # Listen before publishing: this node must hear its own generations too.
            await relay.start()
            self._relay = relay
            self._publisher = attach_publisher(self.bus, self.redis_url)
        except Exception as exc:
            self.startup_error = exc
            log.error("the Socket.IO endpoint could not start: %s", exc)
            raise

    async def shutdown(self) -> None:
        if self._publisher is not None:
            publisher, self._publisher = self._publisher, None
            await asyncio.to_thread(detach_publisher, publisher)
        if self._relay is not None:
            await self._relay.close()
        self._closing = True  # events still arriving get `shutting_down`, not a crash
        self._db_pool.shutdown(wait=False, cancel_futures=True)

    async def _in_db_pool(self, work: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """`work(*args)` on the endpoint's own bounded pool of database threads, inside a
        hold of the database: a burst of events shares one open DuckDB file instead of
        opening it for every token check and read. Within an event's handling it waits for
        its connection's turn first (`EventLimits.db_per_connection`)."""
        if self._closing:
            raise ShuttingDown("the server is shutting down; connect again in a moment")
        loop = asyncio.get_running_loop()
        call = functools.partial(self._held, work, *args, **kwargs)
        sid = _handling.get()
        if sid is None:
            return await self._on_db_thread(loop, call)
        turn = self._db_turns.get(sid)
        if turn is None:
            turn = self._db_turns[sid] = asyncio.Semaphore(self.limits.db_per_connection)
        async with turn:
            return await self._on_db_thread(loop, call)

    async def _on_db_thread(self, loop: asyncio.AbstractEventLoop, call: Callable[[], Any]) -> Any:
        # The pool may have shut down while this event waited for its turn.
        if self._closing:
            raise ShuttingDown("the server is shutting down; connect again in a moment")
        return await loop.run_in_executor(self._db_pool, call)

    def _held(self, work: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with self.db.held():
            return work(*args, **kwargs)

    # ---- handlers -------------------------------------------------------------------

    def _register(self) -> None:
        self.sio.on("connect", self._connect)
        self.sio.on("disconnect", self._disconnect)
        self._on("start_generation", StartGeneration, self._start_generation)
        self._on("join_generation", GenerationRef, self._join)
        self._on("leave_generation", GenerationRef, self._leave)
        self._on("request_catch_up", CatchUp, self._catch_up)
        self._on("resume_generation", GenerationRef, self._resume)
        self._on("cancel_generation", GenerationRef, self._cancel)
        self.sio.on("*", self._unknown_event)

    async def _connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        try:
            token = rt_auth.token_from_handshake(environ, auth)
            claims = await self._in_db_pool(rt_auth.verify, self.db, token, self.clock())
        except rt_auth.NotAuthenticated as refused:
            raise refused.as_refusal() from None
        except ShuttingDown as closing:
            raise SocketIORefusal(closing.message, {"code": closing.code}) from None
        wait_s = self._buckets.open(sid, claims.user_id)
        if wait_s is not None:
            raise SocketIORefusal(
                f"too many connections: you may open {self.limits.connect_burst} at once and "
                f"one every {1 / self.limits.connects_per_second:g} s; try again in {wait_s:.1f} s",
                {"code": "too_many_connections"},
            )
        await self.sio.save_session(sid, {"token": token, "user_id": claims.user_id})

    async def _disconnect(self, sid: str, *_: Any) -> None:
        self._buckets.forget(sid)
        self._db_turns.pop(sid, None)  # a waiting event keeps its own reference

    def _on(
        self, event: str, model: type[P], work: Callable[[str, uuid.UUID, P], Awaitable[Reply]]
    ) -> None:
        async def handler(sid: str, data: Any = None) -> Reply:
            handling = _handling.set(sid)  # its database work takes this connection's turn
            try:
                return await self._guarded(sid, event, model, data, work)
            finally:
                _handling.reset(handling)

        self.sio.on(event, handler)

    async def _guarded(
        self,
        sid: str,
        event: str,
        model: type[P],
        data: Any,
        work: Callable[[str, uuid.UUID, P], Awaitable[Reply]],
    ) -> Reply:
        try:
            self._within_rate(sid, event)
            user_id = await self._still_authenticated(sid, event)
            try:
                payload = model.model_validate(data)
            except ValidationError as exc:
                raise InvalidPayload(describe(exc)) from None
            return await work(sid, user_id, payload)
        except RateLimited as refused:
            return await self._refuse_rate(sid, event, refused)
        except RequestRefused as refused:
            return await self._refuse(sid, event, refused.code, refused.message)
        except TokenNoLongerValid as gone:
            return {"error": gone.error}
        except Exception:
            log.exception("the %s handler failed", event)
            return await self._refuse(sid, event, "internal", "the server could not do that")

    def _within_rate(self, sid: str, event: str) -> None:
        """RateLimited if this connection or its user has used up its bucket (checked
        before any work); TokenNoLongerValid if the connection has gone meanwhile."""
        try:
            wait_s = self._buckets.allow(sid)
        except NotConnected:  # disconnected while this event waited (e.g. after a flood)
            raise _gone(event) from None
        if wait_s is None:
            return
        if self._buckets.user_limited(sid):
            raise RateLimited(
                f"too many events: your connections together may send {self.limits.user_burst} "
                f"at once and {self.limits.user_per_second:g} per second; "
                f"try again in {wait_s:.2f} s"
            )
        raise RateLimited(
            f"too many events: this connection may send {self.limits.burst} at once and "
            f"{self.limits.per_second:g} per second; try again in {wait_s:.2f} s"
        )

    async def _still_authenticated(self, sid: str, event: str) -> uuid.UUID:
        """The user on this connection; else an error event, disconnect, TokenNoLongerValid."""
        try:
            session = await self.sio.get_session(sid)
        except KeyError:  # disconnected while this event waited (e.g. after a flood)
            raise _gone(event) from None
        try:
            claims = await self._in_db_pool(rt_auth.verify, self.db, session["token"], self.clock())
        except rt_auth.NotAuthenticated as exc:
            reply = await self._refuse(sid, event, exc.code, exc.message)
            self._disconnect_after_reply(sid)
            raise TokenNoLongerValid(reply["error"]) from None
        return claims.user_id

    def _disconnect_after_reply(self, sid: str) -> None:
        """Disconnect `sid` once this handler's task has sent its acknowledgement.

        Disconnecting inside the handler would put the disconnect on the wire before the
        acknowledgement, and the client drops an acknowledgement for a namespace it has
        left: the refused request would wait for its answer until its own timeout.
        """
        handler = asyncio.current_task()

        async def after_the_reply() -> None:
            if handler is not None:
                await asyncio.wait({handler})
            await self.sio.disconnect(sid)

        task = asyncio.create_task(after_the_reply())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _refuse_rate(self, sid: str, event: str, refused: RateLimited) -> Reply:
        """A rate-limited event: always its acknowledgement, but the `error` event only for
        the first refusal of a run (a flood is not answered with a flood) and for the one
        that ends the connection (`EventLimits.disconnect_after` in a row)."""
        error = {"event": event, "code": refused.code, "message": refused.message}
        in_a_row = self._buckets.refused_in_a_row(sid)
        if in_a_row == self.limits.disconnect_after:
            error["message"] += f"; disconnected after {in_a_row} refused events in a row"
            self._disconnect_after_reply(sid)
        if in_a_row in (1, self.limits.disconnect_after):
            await self.sio.emit("error", error, to=sid, namespace=NAMESPACE)
        return {"error": error}

    async def _refuse(self, sid: str, event: str, code: str, message: str) -> Reply:
        error = {"event": event, "code": code, "message": message}
        await self.sio.emit("error", error, to=sid, namespace=NAMESPACE)
        return {"error": error}

    async def _unknown_event(self, event: str, sid: str, *_: Any) -> Reply:
        try:
            self._within_rate(sid, event)
            await self._still_authenticated(sid, event)
        except RateLimited as refused:
            return await self._refuse_rate(sid, event, refused)
        except TokenNoLongerValid as gone:
            return {"error": gone.error}
        known = (
            "start_generation, join_generation, leave_generation, request_catch_up, "
            "resume_generation, cancel_generation"
        )
        return await self._refuse(
            sid, event, "unknown_event", f"there is no event {event!r}; known: {known}"
        )

    async def _owned(self, user_id: uuid.UUID, generation_id: uuid.UUID) -> store.GenerationInfo:
        info = await self._in_db_pool(self.reads.generation_info, generation_id)
        if info is None or info.user_id != user_id:
            raise NoSuchGeneration(f"you have no generation {generation_id}")
        return info

    async def _control(
        self, act: Callable[..., Any], info: store.GenerationInfo, user_id: uuid.UUID
    ) -> Any:
        """`act` (a `planner.jobs.control` call) on an owned generation, in the database
        pool; one that is gone meanwhile is refused as one never owned is."""
        try:
            return await self._in_db_pool(
                act, self.db, info.generation_id, user_id, service=self.service
            )
        except GenerationNotFound as exc:
            raise NoSuchGeneration(str(exc)) from None

    async def _start_generation(
        self, sid: str, user_id: uuid.UUID, payload: StartGeneration
    ) -> Reply:
        generation_id = await self._in_db_pool(_start, self.service, user_id, payload)
        await self.sio.enter_room(sid, room_for(generation_id), namespace=NAMESPACE)
        return {"generation_id": str(generation_id)}

    async def _join(self, sid: str, user_id: uuid.UUID, payload: GenerationRef) -> Reply:
        info = await self._owned(user_id, payload.generation_id)
        await self.sio.enter_room(sid, room_for(info.generation_id), namespace=NAMESPACE)
        return {"generation_id": str(info.generation_id), "status": info.status}

    async def _resume(self, sid: str, user_id: uuid.UUID, payload: GenerationRef) -> Reply:
        """Owner only, refused like a join; the resume runs on a worker or this node."""
        info = await self._owned(user_id, payload.generation_id)
        try:
            await self._control(control.resume_generation, info, user_id)
        except GenerationNotResumable as exc:
            raise NotNow(str(exc)) from None
        await self.sio.enter_room(sid, room_for(info.generation_id), namespace=NAMESPACE)
        return {"generation_id": str(info.generation_id), "resumed": True}

    async def _cancel(self, sid: str, user_id: uuid.UUID, payload: GenerationRef) -> Reply:
        """Owner only; stops it whichever process or machine runs it."""
        info = await self._owned(user_id, payload.generation_id)
        if not await self._control(control.cancel_generation, info, user_id):
            raise NotNow(f"generation {info.generation_id} has already ended")
        return {"generation_id": str(info.generation_id), "cancelling": True}

    async def _leave(self, sid: str, user_id: uuid.UUID, payload: GenerationRef) -> Reply:
        await self.sio.leave_room(sid, room_for(payload.generation_id), namespace=NAMESPACE)
        return {"generation_id": str(payload.generation_id), "left": True}

    async def _catch_up(self, sid: str, user_id: uuid.UUID, payload: CatchUp) -> Reply:
        await self._owned(user_id, payload.generation_id)
        page = await self._stored_page(payload)
        info = await self._owned(user_id, payload.generation_id)  # the status after the wait
        last_seq = page.events[-1]["seq"] if page.events else payload.after_seq
        return {
            "generation_id": str(info.generation_id),
            "events": page.events,
            "last_seq": last_seq,
            "has_more": page.has_more,
            "status": info.status,
        }

    async def _stored_page(self, payload: CatchUp) -> store.StoredEvents:
        """Stored events, after waiting for the recorder to store what this node emitted."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.catch_up_wait_s
        needed = self.high_water.get(payload.generation_id)
        while True:
            page = await self._in_db_pool(
                self.reads.stored_events_after,
                payload.generation_id,
                payload.after_seq,
                payload.limit,
            )
            stored = max(page.last_stored_seq, payload.after_seq)
            if page.has_more or stored >= needed or loop.time() >= deadline:
                return page
            await asyncio.sleep(CATCH_UP_POLL_S)


def _gone(event: str) -> TokenNoLongerValid:
    """What an event of a connection that has disconnected meanwhile ends with."""
    return TokenNoLongerValid(
        {"event": event, "code": "disconnected", "message": "the connection closed"}
    )


def _start(service: GenerationService, user_id: uuid.UUID, payload: StartGeneration) -> uuid.UUID:
    request = GenerationRequest(
        description=payload.description,
        user_id=user_id,
        strategy=payload.strategy,
        faults=payload.faults,
        speed=payload.speed,
    )
    try:
        return service.start(request)
    except TooManyGenerations as exc:
        raise TooManyGenerationsRefused(str(exc)) from None
    except GenerationRequestError as exc:
        raise InvalidPayload(str(exc)) from None
