"""Helpers for the Socket.IO tests: a recording client, users, generations, a recorder.

Nothing here waits for a fixed time: tests wait for a condition (with a generous limit
that only decides how long a failing test takes), the endpoint's clock is a `Clock` the
test moves, and `WatchedReads` lets a test act at the moment the endpoint reads.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import socketio

from planner import auth
from planner.db import Database, Generation, GenerationEvent, User
from planner.events import TERMINAL_EVENTS, EventBus, EventMessage
from planner.realtime import store

PASSWORD = "correct horse battery staple"
DESCRIPTION = "An online bookshop with payments, a catalogue and order tracking"
LIFECYCLE_ORDER = [
    "masterplan_parsing_complete",
    "masterplan_validation_start",
    "masterplan_saving_start",
    "masterplan_generation_complete",
]


def make_user(db: Database, username: str) -> tuple[User, str]:
    """A user who can log in, and an access token for them."""
    user = auth.create_user(db, username, PASSWORD)
    return user, auth.issue_access_token(user)


def make_generation(db: Database, user_id: uuid.UUID, status: str = "running") -> uuid.UUID:
    """A generations row owned by `user_id`, as the generation service would insert it."""
    db.ensure_schema()
    generation = Generation(
        user_id=user_id,
        description="a test generation",
        strategy="resume",
        model="claude-sonnet-5-5",
        status=status,
    )

    def insert(session) -> uuid.UUID:  # noqa: ANN001
        session.add(generation)
        session.flush()
        return generation.id

    return db.in_session(insert)


class Recorder:
    """Stores every bus event in generation_events, like the generator's recorder.

    `gate` (set by default) lets a test hold events back to open a race on purpose.
    """

    def __init__(self, bus: EventBus, db: Database) -> None:
        self.db = db
        self.gate = threading.Event()
        self.gate.set()
        self.bus = bus
        self.handle = bus.subscribe(self._store)

    def _store(self, message: EventMessage) -> None:
        self.gate.wait()

        def insert(session) -> None:  # noqa: ANN001
            session.add(
                GenerationEvent(
                    generation_id=message.generation_id,
                    seq=message.seq,
                    name=message.name,
                    payload=message.payload,
                )
            )

        self.db.in_session(insert)

    def close(self) -> None:
        self.gate.set()
        self.bus.unsubscribe(self.handle)


class Clock:
    """The endpoint's clock (`clock=`), standing still until the test moves it."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


class WatchedReads:
    """The endpoint's database reads (`reads=`), calling `on_events_read(page)` after each
    read of stored events, so a test can act exactly when the endpoint has looked."""

    def __init__(self, db: Database, on_events_read: Callable[[store.StoredEvents], None]) -> None:
        self.db = db
        self.on_events_read = on_events_read

    def generation_info(self, generation_id: uuid.UUID) -> store.GenerationInfo | None:
        return store.generation_info(self.db, generation_id)

    def stored_events_after(
        self, generation_id: uuid.UUID, after_seq: int, limit: int
    ) -> store.StoredEvents:
        page = store.stored_events_after(self.db, generation_id, after_seq, limit)
        self.on_events_read(page)
        return page


def reads_releasing(recorder: Recorder, seq: int, short_reads: list[int]) -> WatchedReads:
    """Reads that, once the endpoint finds fewer than `seq` events stored, note it in
    `short_reads` and let the held-back recorder store them."""

    def release(page: store.StoredEvents) -> None:
        if page.last_stored_seq < seq:
            short_reads.append(page.last_stored_seq)
            recorder.gate.set()

    return WatchedReads(recorder.db, release)


class Client:
    """A real `socketio.AsyncClient` that keeps every event it receives, in order."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: list[tuple[str, Any]] = []
        self.connect_errors: list[Any] = []
        self.disconnected = asyncio.Event()
        self.sio.on("*", self._any)
        self.sio.on("connect_error", self._connect_error)
        self.sio.on("disconnect", self._disconnect)

    async def _any(self, event: str, data: Any = None) -> None:
        self.events.append((event, data))

    async def _connect_error(self, data: Any = None) -> None:
        self.connect_errors.append(data)

    async def _disconnect(self, *_: Any) -> None:
        self.disconnected.set()

    async def connect(
        self, url: str, token: str | None = None, headers: dict[str, str] | None = None
    ) -> Client:
        self.disconnected.clear()
        await self.sio.connect(
            url,
            auth=None if token is None else {"token": token},
            headers=headers or {},
            transports=["websocket"],
            wait_timeout=10,
        )
        return self

    async def call(self, event: str, data: Any = None) -> Any:
        return await self.sio.call(event, data, timeout=10)

    def named(self, *names: str) -> list[dict[str, Any]]:
        return [data for event, data in self.events if event in names]

    def generation_events(self, generation_id: uuid.UUID) -> list[dict[str, Any]]:
        return [
            data
            for event, data in self.events
            if event != "error"
            and isinstance(data, dict)
            and data.get("generation_id") == str(generation_id)
        ]

    def errors(self) -> list[dict[str, Any]]:
        return self.named("error")

    async def wait_until(
        self, condition: Callable[[], bool], timeout_s: float = 10.0, what: str = "condition"
    ) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; got {self.events[-5:]}")
            await asyncio.sleep(0.01)

    async def close(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()


class Follower:
    """The documented client rule: apply each seq once, in order, catching up on gaps."""

    def __init__(self, client: Client, generation_id: uuid.UUID) -> None:
        self.client = client
        self.generation_id = generation_id
        self.last_seen = 0
        self.applied: list[dict[str, Any]] = []
        self._live_index = 0

    def reconnected(self, client: Client) -> None:
        """Follow on a new connection: its live events start afresh, `last_seen` stays."""
        self.client = client
        self._live_index = 0

    def _apply(self, event: dict[str, Any]) -> None:
        if event["seq"] == self.last_seen + 1:
            self.applied.append(event)
            self.last_seen = event["seq"]

    async def catch_up(self) -> None:
        while True:
            reply = await self.client.call(
                "request_catch_up",
                {"generation_id": str(self.generation_id), "after_seq": self.last_seen},
            )
            assert "error" not in reply, reply
            for event in reply["events"]:
                self._apply(event)
            if not reply["has_more"]:
                return

    async def sync(self) -> None:
        """Apply the live events received so far; catch up if one raced ahead."""
        live = self.client.generation_events(self.generation_id)
        for event in live[self._live_index :]:
            if event["seq"] > self.last_seen + 1:
                await self.catch_up()
            self._apply(event)
        self._live_index = len(live)


async def follow_to_the_end(follower: Follower, timeout_s: float = 120) -> list[dict[str, Any]]:
    """Catch up, then apply live events until the terminal one, by the client rule."""
    await follower.catch_up()
    deadline = time.monotonic() + timeout_s
    while not follower.applied or follower.applied[-1]["name"] not in TERMINAL_EVENTS:
        assert time.monotonic() < deadline, f"no terminal event; last {follower.applied[-3:]}"
        await follower.sync()
        await asyncio.sleep(0.02)
    return follower.applied


def assert_a_recovered_generation(events: list[dict[str, Any]]) -> None:
    names = [e["name"] for e in events]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1)), "gap-free, in order"
    assert names[0] == "masterplan_generation_start"
    assert names[-1] == "masterplan_generation_complete"
    assert [n for n in names if n in LIFECYCLE_ORDER] == LIFECYCLE_ORDER
    recoveries = [e for e in events if e["name"] == "masterplan_recovery"]
    assert recoveries and all(r["tier"] == "resume" for r in recoveries)
    first_recovery = names.index("masterplan_recovery")
    assert "masterplan_tokens_progress" in names[:first_recovery], "progress before the drop"
    assert "masterplan_tokens_progress" in names[first_recovery:], "and after it"
    progress = [e for e in events if e["name"] == "masterplan_tokens_progress"]
    assert all(p["tokens_received"] >= 0 and "percentage" in p for p in progress)
    assert any(e["name"] == "masterplan_text_delta" and e["text"] for e in events)
    complete = events[-1]
    assert complete["masterplan_id"] and complete["total_tasks"] > 0


async def connected(clients: list[Client], endpoint: Any, token: str) -> Client:
    """A client connected to `endpoint` (a RealtimeHandle), closed by the `clients` fixture."""
    client = Client()
    clients.append(client)
    return await client.connect(endpoint.url, token)
