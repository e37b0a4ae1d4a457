"""The Socket.IO endpoint with real clients: ownership, live events, catch-up, bad input."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
import socketio
import uvicorn

from planner import auth
from planner.db import Database
from planner.events import EventBus, GenerationEvents, Recovery, TextDelta, TokensProgress
from planner.plan import GenerationService
from planner.realtime import RealtimeHandle, RealtimeServer, start_in_thread, store
from planner.realtime.hosting import bind
from tests.realtime_support import (
    Client,
    Follower,
    Recorder,
    WatchedReads,
    connected,
    make_generation,
    make_user,
    reads_releasing,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def bus() -> EventBus:
    return EventBus()


@pytest.fixture
def recorder(home_db: Database, bus: EventBus) -> Iterator[Recorder]:
    recorder = Recorder(bus, home_db)
    yield recorder
    recorder.close()


@pytest.fixture
def endpoint(bus: EventBus, home_db: Database) -> Iterator[RealtimeHandle]:
    service = GenerationService(home_db, bus=bus)
    handle = start_in_thread("127.0.0.1", 0, db=home_db, service=service, bus=bus)
    yield handle
    handle.stop()
    service.shutdown(cancel=True)


@pytest.fixture
def alice(home_db: Database) -> tuple[auth.TokenClaims, str]:
    user, token = make_user(home_db, "alice")
    return auth.verify_access_token(home_db, token), token


def publish_run(bus: EventBus, generation_id: uuid.UUID, count: int) -> list[int]:
    """`count` events shaped like a generation's stream; returns their seqs."""
    events = GenerationEvents(bus, generation_id)
    seqs = []
    for i in range(count):
        if i % 10 == 9:
            event = Recovery(attempt=2, tier="resume", reason="reset", resume_from_char=i * 40)
        elif i % 2:
            event = TextDelta(text="x" * 40, from_char=i * 40)
        else:
            event = TokensProgress(tokens_received=i * 10, estimated_total=count * 10, chars=i * 40)
        seqs.append(events.emit(event).seq)
    return seqs


# ---- ownership --------------------------------------------------------------------------


async def test_nobody_joins_or_catches_up_on_another_users_generation(
    home_db: Database,
    endpoint: RealtimeHandle,
    bus: EventBus,
    recorder: Recorder,
    alice: tuple[auth.TokenClaims, str],
    clients: list[Client],
) -> None:
    claims, alice_token = alice
    _, mallory_token = make_user(home_db, "mallory")
    generation_id = make_generation(home_db, claims.user_id)
    owner = await connected(clients, endpoint, alice_token)
    mallory = await connected(clients, endpoint, mallory_token)
    assert (await owner.call("join_generation", {"generation_id": str(generation_id)}))[
        "status"
    ] == "running"

    unknown_id = uuid.uuid4()
    join = await mallory.call("join_generation", {"generation_id": str(generation_id)})
    stranger = await mallory.call("join_generation", {"generation_id": str(unknown_id)})
    publish_run(bus, generation_id, 20)
    await owner.wait_until(lambda: len(owner.generation_events(generation_id)) == 20)
    peek = await mallory.call(
        "request_catch_up", {"generation_id": str(generation_id), "after_seq": 0}
    )

    assert join["error"]["code"] == stranger["error"]["code"] == "not_found"
    # A foreign generation looks exactly like one that does not exist.
    assert join["error"]["message"].replace(str(generation_id), "ID") == stranger["error"][
        "message"
    ].replace(str(unknown_id), "ID")
    assert peek == {"error": peek["error"]} and peek["error"]["code"] == "not_found"
    assert [e["code"] for e in mallory.errors()] == ["not_found"] * 3
    assert mallory.generation_events(generation_id) == []
    assert mallory.sio.connected, "a refused request does not end the connection"


# ---- live events and catch-up -------------------------------------------------------


async def test_bus_events_reach_the_room_in_order_and_gap_free(
    home_db: Database,
    endpoint: RealtimeHandle,
    bus: EventBus,
    alice: tuple[auth.TokenClaims, str],
    clients: list[Client],
) -> None:
    claims, token = alice
    watched, other = (
        make_generation(home_db, claims.user_id),
        make_generation(home_db, claims.user_id),
    )
    watchers = [await connected(clients, endpoint, token) for _ in range(3)]
    for watcher in watchers:
        await watcher.call("join_generation", {"generation_id": str(watched)})
    publish_run(bus, other, 50)
    seqs = publish_run(bus, watched, 500)

    for watcher in watchers:
        await watcher.wait_until(lambda w=watcher: len(w.generation_events(watched)) == 500)
        received = watcher.generation_events(watched)
        assert [e["seq"] for e in received] == seqs == list(range(1, 501))
        assert received[0]["name"] == "masterplan_tokens_progress"
        assert [name for name, _ in watcher.events if name != "error"][:2] == [
            "masterplan_tokens_progress",
            "masterplan_text_delta",
        ]
        assert received[1]["text"] == "x" * 40 and received[1]["from_char"] == 40
        assert received[9]["name"] == "masterplan_recovery" and received[9]["tier"] == "resume"
        assert watcher.generation_events(other) == []


async def test_leaving_a_generation_stops_its_events(
    home_db: Database,
    endpoint: RealtimeHandle,
    bus: EventBus,
    alice: tuple[auth.TokenClaims, str],
    clients: list[Client],
) -> None:
    claims, token = alice
    generation_id = make_generation(home_db, claims.user_id)
    stays = await connected(clients, endpoint, token)
    leaves = await connected(clients, endpoint, token)
    for client in (stays, leaves):
        await client.call("join_generation", {"generation_id": str(generation_id)})
    events = GenerationEvents(bus, generation_id)
    events.emit(TokensProgress(tokens_received=1))
    await leaves.wait_until(lambda: len(leaves.generation_events(generation_id)) == 1)
    left = await leaves.call("leave_generation", {"generation_id": str(generation_id)})
    events.emit(TokensProgress(tokens_received=2))
    await stays.wait_until(lambda: len(stays.generation_events(generation_id)) == 2)
    assert left == {"generation_id": str(generation_id), "left": True}
    assert [e["seq"] for e in leaves.generation_events(generation_id)] == [1]


async def test_catch_up_after_a_disconnect_misses_nothing_and_repeats_nothing(
    home_db: Database,
    endpoint: RealtimeHandle,
    bus: EventBus,
    recorder: Recorder,
    alice: tuple[auth.TokenClaims, str],
    clients: list[Client],
) -> None:
    claims, token = alice
    generation_id = make_generation(home_db, claims.user_id)
    client = await connected(clients, endpoint, token)
    follower = Follower(client, generation_id)
    await client.call("join_generation", {"generation_id": str(generation_id)})
    await follower.catch_up()
    events = GenerationEvents(bus, generation_id)
    for i in range(10):
        events.emit(TokensProgress(tokens_received=i))
    await client.wait_until(lambda: len(client.generation_events(generation_id)) == 10)
    await follower.sync()
    await client.close()

    for i in range(10, 25):  # published while the client is away
        events.emit(TextDelta(text=f"<{i}>", from_char=i))
    reconnected = await connected(clients, endpoint, token)
    follower.reconnected(reconnected)
    await reconnected.call("join_generation", {"generation_id": str(generation_id)})
    for i in range(25, 35):  # published while it catches up
        events.emit(TokensProgress(tokens_received=i))
    await follower.catch_up()
    await reconnected.wait_until(
        lambda: any(e["seq"] == 35 for e in reconnected.generation_events(generation_id))
    )
    await follower.sync()

    assert [e["seq"] for e in follower.applied] == list(range(1, 36))
    assert follower.applied[10]["name"] == "masterplan_text_delta"
    assert follower.applied[10]["text"] == "<10>"


async def test_catch_up_replays_exactly_the_stored_events_after_after_seq(
    home_db: Database,
    endpoint: RealtimeHandle,
    bus: EventBus,
    recorder: Recorder,
    alice: tuple[auth.TokenClaims, str],
    clients: list[Client],
) -> None:
    claims, token = alice
    generation_id = make_generation(home_db, claims.user_id)
    publish_run(bus, generation_id, 30)
    client = await connected(clients, endpoint, token)
    ref = str(generation_id)
    await client.wait_until(lambda: recorder_has(home_db, generation_id, 30), what="the recorder")

    reply = await client.call("request_catch_up", {"generation_id": ref, "after_seq": 12})
    paged = await client.call(
        "request_catch_up", {"generation_id": ref, "after_seq": 0, "limit": 25}
    )
    rest = await client.call("request_catch_up", {"generation_id": ref, "after_seq": 25})
    done = await client.call("request_catch_up", {"generation_id": ref, "after_seq": 30})

    assert [e["seq"] for e in reply["events"]] == list(range(13, 31))
    assert reply["last_seq"] == 30 and reply["has_more"] is False and reply["status"] == "running"
    assert all(e["generation_id"] == ref and "name" in e for e in reply["events"])
    assert reply["events"][-1]["name"] == "masterplan_recovery"
    assert reply["events"][-1]["resume_from_char"] == 29 * 40
    assert [e["seq"] for e in paged["events"]] == list(range(1, 26)) and paged["has_more"]
    assert paged["last_seq"] == 25
    assert [e["seq"] for e in rest["events"]] == list(range(26, 31)) and not rest["has_more"]
    assert done["events"] == [] and done["last_seq"] == 30


def recorder_has(db: Database, generation_id: uuid.UUID, count: int) -> bool:
    from sqlalchemy import func, select

    from planner.db import GenerationEvent

    with db.session() as session:
        stored = session.scalar(
            select(func.count()).where(GenerationEvent.generation_id == generation_id)
        )
    return stored == count


@pytest.fixture
def short_reads() -> list[int]:
    """How many events were stored each time the endpoint found too few."""
    return []


@pytest.fixture
def lagging_endpoint(
    home_db: Database, bus: EventBus, recorder: Recorder, short_reads: list[int]
) -> Iterator[RealtimeHandle]:
    """An endpoint whose first short read of stored events lets the recorder store them."""
    reads = reads_releasing(recorder, 5, short_reads)
    # However slow this machine, the reply is the wait for the recorder, not the deadline.
    service = GenerationService(home_db, bus=bus)
    handle = start_in_thread(
        "127.0.0.1", 0, db=home_db, service=service, bus=bus, reads=reads, catch_up_wait_s=120
    )
    yield handle
    handle.stop()
    service.shutdown(cancel=True)


async def test_catch_up_waits_for_events_emitted_before_the_join_but_not_yet_stored(
    home_db: Database,
    lagging_endpoint: RealtimeHandle,
    bus: EventBus,
    recorder: Recorder,
    short_reads: list[int],
    alice: tuple[auth.TokenClaims, str],
    clients: list[Client],
) -> None:
    claims, token = alice
    generation_id = make_generation(home_db, claims.user_id)
    client = await connected(clients, lagging_endpoint, token)
    recorder.gate.clear()  # the recorder lags: events go out live before they are stored
    publish_run(bus, generation_id, 5)
    await client.wait_until(lambda: lagging_endpoint.server.high_water.get(generation_id) == 5)
    await client.call("join_generation", {"generation_id": str(generation_id)})

    reply = await client.call(
        "request_catch_up", {"generation_id": str(generation_id), "after_seq": 0}
    )

    assert client.generation_events(generation_id) == [], "they went out before the join"
    assert short_reads[:1] == [0], "the endpoint looked before the recorder had stored any"
    assert [e["seq"] for e in reply["events"]] == [1, 2, 3, 4, 5]


# ---- malformed requests -------------------------------------------------------------


BAD_REQUESTS = [
    ("join_generation", None),
    ("join_generation", "not a dict"),
    ("join_generation", [1, 2]),
    ("join_generation", {}),
    ("join_generation", {"generation_id": "not-a-uuid"}),
    ("join_generation", {"generation_id": 12345}),
    ("join_generation", {"generation_id": str(uuid.uuid4()), "sneaky": True}),
    ("leave_generation", {"generation": "x"}),
    ("request_catch_up", {"generation_id": str(uuid.uuid4())}),
    ("request_catch_up", {"generation_id": str(uuid.uuid4()), "after_seq": -1}),
    ("request_catch_up", {"generation_id": str(uuid.uuid4()), "after_seq": "5"}),
    ("request_catch_up", {"generation_id": str(uuid.uuid4()), "after_seq": 1.5}),
    ("request_catch_up", {"generation_id": str(uuid.uuid4()), "after_seq": 0, "limit": 10**9}),
    ("start_generation", {}),
    ("start_generation", {"description": "   "}),
    ("start_generation", {"description": "a shop", "strategy": "pray"}),
    ("start_generation", {"description": "a shop", "speed": -1}),
    ("start_generation", {"description": "a shop", "faults": "gremlins"}),
    ("start_generation", {"description": "a shop", "speed": "fast"}),
    ("start_generation", {"description": "x" * 20_001}),
]


async def test_malformed_payloads_get_an_error_and_the_server_keeps_serving(
    home_db: Database,
    endpoint: RealtimeHandle,
    alice: tuple[auth.TokenClaims, str],
    clients: list[Client],
) -> None:
    claims, token = alice
    client = await connected(clients, endpoint, token)
    replies = [await client.call(event, data) for event, data in BAD_REQUESTS]

    for (event, _), reply in zip(BAD_REQUESTS, replies, strict=True):
        assert reply["error"]["code"] == "invalid_payload", (event, reply)
        assert reply["error"]["event"] == event
        assert reply["error"]["message"]
    assert len(client.errors()) == len(BAD_REQUESTS)
    assert "after_seq" in replies[9]["error"]["message"]
    assert "strategy" in replies[15]["error"]["message"]
    assert "out of range" in replies[16]["error"]["message"]
    assert "gremlins" in replies[17]["error"]["message"]
    assert "sneaky" in replies[6]["error"]["message"]

    unknown = await client.call("launch_rockets", {"now": True})
    assert unknown["error"]["code"] == "unknown_event"
    generation_id = make_generation(home_db, claims.user_id)
    ok = await client.call("join_generation", {"generation_id": str(generation_id)})
    assert ok == {"generation_id": str(generation_id), "status": "running"}
    assert client.sio.connected


@contextlib.asynccontextmanager
async def serving_here(server: RealtimeServer, service: GenerationService) -> AsyncIterator[str]:
    """`server` on uvicorn in this test's own loop, so the test can call its lifespan's
    shutdown itself; yields its URL, and stops it and `service` after."""
    runner = uvicorn.Server(uvicorn.Config(server.app, lifespan="on", log_level="warning"))
    sock = bind("127.0.0.1", 0)
    serving = asyncio.create_task(runner.serve(sockets=[sock]))
    try:
        while not runner.started:
            await asyncio.sleep(0.01)
        yield "http://{}:{}".format(*sock.getsockname()[:2])
    finally:
        runner.should_exit = True
        await serving
        service.shutdown(cancel=True)


async def test_events_and_connections_while_the_server_stops_get_shutting_down(
    home_db: Database, bus: EventBus, alice: tuple[auth.TokenClaims, str]
) -> None:
    """Stopping shuts the endpoint's database pool before the last connections close: an
    event then crashed its handler ("cannot schedule new futures after shutdown")."""
    claims, token = alice
    service = GenerationService(home_db, bus=bus)
    server = RealtimeServer(db=home_db, service=service, bus=bus)
    client = Client()
    async with serving_here(server, service) as url:
        try:
            await client.connect(url, token)
            generation_id = make_generation(home_db, claims.user_id)
            joined = await client.call("join_generation", {"generation_id": str(generation_id)})
            assert joined["status"] == "running"

            await server.shutdown()  # what the server's lifespan does as it stops
            reply = await client.call("join_generation", {"generation_id": str(generation_id)})
            assert reply["error"]["code"] == "shutting_down"
            assert "shutting down" in reply["error"]["message"]
            late = Client()
            with pytest.raises(socketio.exceptions.ConnectionError):
                await late.connect(url, token)
            assert late.connect_errors[-1]["data"]["code"] == "shutting_down"
        finally:
            await client.close()


class HeldReads(WatchedReads):
    """Reads whose `generation_info` waits for `gate` (set to let them go)."""

    def __init__(self, db: Database) -> None:
        super().__init__(db, lambda page: None)
        self.gate = threading.Event()
        self.waiting = threading.Event()

    def generation_info(self, generation_id: uuid.UUID) -> store.GenerationInfo | None:
        self.waiting.set()
        self.gate.wait(60)
        return super().generation_info(generation_id)


async def test_events_waiting_for_their_turn_when_the_server_stops_get_shutting_down(
    home_db: Database, bus: EventBus, alice: tuple[auth.TokenClaims, str]
) -> None:
    """An event waiting for its connection's database turn while the pool shut down
    crashed its handler ("cannot schedule new futures after shutdown", seen in the
    fairness benchmark): it gets `shutting_down` like any event after the stop."""
    claims, token = alice
    service = GenerationService(home_db, bus=bus)
    reads = HeldReads(home_db)
    server = RealtimeServer(db=home_db, service=service, bus=bus, reads=reads)
    client = Client()
    async with serving_here(server, service) as url:
        try:
            await client.connect(url, token)
            ref = {"generation_id": str(make_generation(home_db, claims.user_id))}
            answers: list[dict] = []
            for _ in range(3):  # the first holds the connection's turn; two wait for it
                await client.sio.emit("join_generation", ref, callback=answers.append)
            async with asyncio.timeout(30):
                while not reads.waiting.is_set():
                    await asyncio.sleep(0.01)
            await server.shutdown()
            reads.gate.set()
            async with asyncio.timeout(30):
                while len(answers) < 3:
                    await asyncio.sleep(0.01)
            assert answers[0]["status"] == "running"  # it was already reading
            assert [a["error"]["code"] for a in answers[1:]] == ["shutting_down"] * 2
        finally:
            reads.gate.set()
            await client.close()
