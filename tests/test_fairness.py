"""One user cannot slow everyone: per-connection event buckets, a per-user cap on queued and
running generations, and the endpoint's database work on a pool of its own.

The limits are checked deterministically (the bucket's clock stands still unless the test
moves it); the latency a flood leaves another user is measured in
benchmarks/bench_fairness.py, not asserted here.
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import Iterator

import httpx
import pytest
import socketio
import websockets.asyncio.client
import websockets.exceptions
import websockets.frames

from planner.db import Database
from planner.events import EventBus
from planner.plan import GenerationRequest, GenerationService, TooManyGenerations
from planner.realtime import RealtimeHandle, start_in_thread
from planner.realtime import store as rt_store
from planner.realtime.limits import ConnectionLimits, EventLimits, NotConnected, TokenBucket
from tests.realtime_support import Client, connected, make_generation, make_user

pytestmark = pytest.mark.anyio


class StillClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class CountedReads:
    """The endpoint's reads, counted, with the name of the thread each ran on."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.threads: list[str] = []
        self.lock = threading.Lock()

    def _note(self) -> None:
        with self.lock:
            self.threads.append(threading.current_thread().name)

    def generation_info(self, generation_id: uuid.UUID) -> rt_store.GenerationInfo | None:
        self._note()
        return rt_store.generation_info(self.db, generation_id)

    def stored_events_after(
        self, generation_id: uuid.UUID, after_seq: int, limit: int
    ) -> rt_store.StoredEvents:
        self._note()
        return rt_store.stored_events_after(self.db, generation_id, after_seq, limit)


class GatedReads(CountedReads):
    """Reads of one generation (`gated`, none by default) wait for `gate`; how many run at
    once is noted."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.gated: uuid.UUID | None = None
        self.gate = threading.Event()
        self.in_flight = 0
        self.most_in_flight = 0

    def generation_info(self, generation_id: uuid.UUID) -> rt_store.GenerationInfo | None:
        if generation_id != self.gated:
            return super().generation_info(generation_id)
        with self.lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            self.gate.wait(60)
            return super().generation_info(generation_id)
        finally:
            with self.lock:
                self.in_flight -= 1


def test_a_bucket_gives_its_burst_then_its_rate() -> None:
    clock = StillClock()
    bucket = TokenBucket(capacity=3, rate=2.0, clock=clock)
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    assert bucket.wait_s() == pytest.approx(0.5)
    clock.now += 0.5
    assert [bucket.take(), bucket.take()] == [True, False]
    clock.now += 100  # never more than the burst, however long it rested
    assert sum(bucket.take() for _ in range(10)) == 3
    with pytest.raises(ValueError):
        EventLimits(per_second=0)


@pytest.fixture
def limit_clock() -> StillClock:
    return StillClock()


@pytest.fixture
def reads(home_db: Database) -> GatedReads:
    return GatedReads(home_db)


@pytest.fixture
def endpoint(
    home_db: Database, service: GenerationService, limit_clock: StillClock, reads: CountedReads
) -> Iterator[RealtimeHandle]:
    # The wall's own close waits a minute: here the event buckets always disconnect first.
    limits = EventLimits(per_second=1, burst=5, db_threads=2, wall_grace_s=60)
    yield from serving(home_db, service, limits, limit_clock, reads=reads)


def serving(
    db: Database,
    service: GenerationService,
    limits: EventLimits,
    clock: StillClock,
    reads: CountedReads | None = None,
) -> Iterator[RealtimeHandle]:
    """An endpoint with these limits and this clock, for a fixture to yield."""
    handle = start_in_thread(
        "127.0.0.1",
        0,
        db=db,
        service=service,
        bus=EventBus(),
        reads=reads,
        limits=limits,
        limit_clock=clock,
    )
    yield handle
    handle.stop()


async def test_events_over_a_connections_bucket_are_refused_before_any_work(
    home_db: Database,
    endpoint: RealtimeHandle,
    limit_clock: StillClock,
    reads: CountedReads,
    clients: list[Client],
) -> None:
    flooder, token = make_user(home_db, "flood")
    _, other_token = make_user(home_db, "other")
    generation_id = str(make_generation(home_db, flooder.id))
    client = await connected(clients, endpoint, token)
    other = await connected(clients, endpoint, other_token)
    replies = [
        await client.call("join_generation", {"generation_id": generation_id}) for _ in range(8)
    ]
    assert [r.get("status") for r in replies[:5]] == ["running"] * 5
    refused = [r["error"] for r in replies[5:]]
    assert {e["code"] for e in refused} == {"rate_limited"}
    assert refused[0]["message"] == (
        "too many events: this connection may send 5 at once and 1 per second; try again in 1.00 s"
    )
    assert len(reads.threads) == 5, "a refused event reads nothing"
    assert set(reads.threads) <= {"realtime-db_0", "realtime-db_1"}, "never the default pool"
    # Another connection has a bucket of its own; the flooder's refills with time.
    mine = str(make_generation(home_db, make_user(home_db, "third")[0].id))
    answer = await other.call("join_generation", {"generation_id": mine})
    assert answer["error"]["code"] == "not_found"
    limit_clock.now += 2
    assert [
        "error" in await client.call("join_generation", {"generation_id": generation_id})
        for _ in range(3)
    ] == [False, False, True]


async def flood(
    client: Client, generation_id: str, events: int, *, stop_when_disconnected: bool
) -> list[dict]:
    """`events` catch-ups sent without waiting for answers; the answers that came before
    the server disconnected the client (which this waits for)."""
    answers: list[dict] = []
    for _ in range(events):
        if stop_when_disconnected and not client.sio.connected:
            break
        await client.sio.emit(
            "request_catch_up",
            {"generation_id": generation_id, "after_seq": 0},
            callback=answers.append,
        )
    await asyncio.wait_for(client.disconnected.wait(), 60)
    return answers


async def test_a_flood_of_2000_events_reaches_the_database_only_as_far_as_the_burst(
    home_db: Database, endpoint: RealtimeHandle, reads: CountedReads, clients: list[Client]
) -> None:
    flooder, token = make_user(home_db, "flood")
    _, other_token = make_user(home_db, "other")
    generation_id = str(make_generation(home_db, flooder.id))
    client = await connected(clients, endpoint, token)
    answers = await flood(client, generation_id, 2000, stop_when_disconnected=False)
    codes = [a["error"]["code"] if "error" in a else "answered" for a in answers]
    # The 5 within the burst may still be reading when the connection is dropped.
    assert codes.count("answered") <= 5 and set(codes) <= {"answered", "rate_limited"}
    assert codes.count("rate_limited") >= 200, "every refusal up to the disconnect is answered"
    # Only the first refusal of the run and the one that ends it are `error` events.
    first, last = client.errors()
    assert first["code"] == last["code"] == "rate_limited"
    assert last["message"].endswith("; disconnected after 200 refused events in a row")
    other = await connected(clients, endpoint, other_token)
    answer = await other.call("join_generation", {"generation_id": generation_id})
    assert answer["error"]["code"] == "not_found", "answered, not rate-limited"
    # 5 catch-ups read ownership, events and the status again; the refused ones nothing.
    assert len(reads.threads) <= 5 * 3 + 1
    # Engine.IO saw at most the wall's frames (the connect packet and events; the rest of
    # the flood, if it arrived before the disconnect, was dropped unread).
    counts = endpoint.server.wall.counts
    assert counts.passed_frames <= endpoint.server.limits.frame_burst + 3, counts


async def test_a_burst_from_one_connection_leaves_database_threads_for_the_others(
    home_db: Database, endpoint: RealtimeHandle, reads: GatedReads, clients: list[Client]
) -> None:
    """5 events within one connection's burst whose reads are held: they take one database
    thread at a time, so another user's join is answered while all five are still held."""
    try:
        flooder, token = make_user(home_db, "flood")
        other_user, other_token = make_user(home_db, "other")
        reads.gated = make_generation(home_db, flooder.id)
        theirs = str(make_generation(home_db, other_user.id))
        client = await connected(clients, endpoint, token)
        other = await connected(clients, endpoint, other_token)
        answers: list[dict] = []
        for _ in range(5):
            await client.sio.emit(
                "join_generation", {"generation_id": str(reads.gated)}, callback=answers.append
            )
        async with asyncio.timeout(30):
            while reads.in_flight == 0:  # the first held read has started
                await asyncio.sleep(0.01)
            answer = await other.call("join_generation", {"generation_id": theirs})
        assert answer.get("status") == "running", answer
        assert answers == [] and reads.most_in_flight == 1
        reads.gate.set()
        async with asyncio.timeout(30):
            while len(answers) < 5:
                await asyncio.sleep(0.01)
        assert [a.get("status") for a in answers] == ["running"] * 5
        assert reads.most_in_flight == 1, "one connection's reads ran one at a time"
    finally:
        reads.gate.set()


# ---- a user's connections together ----------------------------------------------------


def test_a_users_connections_share_a_bucket_and_a_gone_connection_makes_none() -> None:
    clock = StillClock()
    limits = ConnectionLimits(
        EventLimits(per_second=1, burst=5, user_burst=8, user_per_second=1, connect_burst=2),
        clock,
    )
    assert limits.open("a1", "alice") is None and limits.open("a2", "alice") is None
    assert limits.open("b1", "bob") is None
    assert [limits.allow("a1") is None for _ in range(6)] == [True] * 5 + [False]
    assert not limits.user_limited("a1"), "a1's own bucket is empty"
    # a2's own bucket is full, but alice has 3 of her 8 left
    assert [limits.allow("a2") is None for _ in range(4)] == [True] * 3 + [False]
    assert limits.user_limited("a2") and limits.allow("a2") == pytest.approx(1.0)
    assert limits.allow("b1") is None, "another user has buckets of their own"
    # Opening connections: 2 at once, then one every 2 s (the default rate).
    assert limits.open("a3", "alice") == pytest.approx(2.0)
    clock.now += 2.0
    assert limits.open("a3", "alice") is None
    # A connection that has gone: its queued events make no new bucket.
    limits.forget("a1")
    with pytest.raises(NotConnected):
        limits.allow("a1")


@pytest.fixture
def per_user(
    home_db: Database, service: GenerationService, limit_clock: StillClock
) -> Iterator[RealtimeHandle]:
    limits = EventLimits(per_second=1, burst=5, user_burst=8, user_per_second=1, connect_burst=3)
    yield from serving(home_db, service, limits, limit_clock)


async def test_a_new_connection_brings_no_new_budget_and_connections_are_limited_too(
    home_db: Database, per_user: RealtimeHandle, limit_clock: StillClock, clients: list[Client]
) -> None:
    alice, token = make_user(home_db, "alice")
    _, bob_token = make_user(home_db, "bobby")
    generation_id = str(make_generation(home_db, alice.id))
    ref = {"generation_id": generation_id}
    first = await connected(clients, per_user, token)
    assert ["error" in await first.call("join_generation", ref) for _ in range(5)] == [False] * 5
    second = await connected(clients, per_user, token)
    replies = [await second.call("join_generation", ref) for _ in range(4)]
    assert ["error" in r for r in replies] == [False, False, False, True]
    assert replies[3]["error"]["code"] == "rate_limited"
    assert replies[3]["error"]["message"] == (
        "too many events: your connections together may send 8 at once and 1 per second; "
        "try again in 1.00 s"
    )
    bob = await connected(clients, per_user, bob_token)
    assert (await bob.call("join_generation", ref))["error"]["code"] == "not_found"
    # A third connection is allowed; a fourth, at once, is refused with its own code.
    await connected(clients, per_user, token)
    fourth = Client()
    clients.append(fourth)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await fourth.connect(per_user.url, token)
    refusal = fourth.connect_errors[-1]
    assert refusal["data"]["code"] == "too_many_connections"
    assert refusal["message"] == (
        "too many connections: you may open 3 at once and one every 2 s; try again in 2.0 s"
    )
    limit_clock.now += 2
    await fourth.connect(per_user.url, token)
    assert fourth.sio.connected


# ---- the transport's wall -------------------------------------------------------------


@pytest.fixture
def walled(
    home_db: Database, service: GenerationService, limit_clock: StillClock
) -> Iterator[RealtimeHandle]:
    """An endpoint whose event buckets never disconnect (so only the wall can) and whose
    wall closes at once: burst 5, so 10 frames pass."""
    limits = EventLimits(per_second=1, burst=5, disconnect_after=0, wall_grace_s=0)
    yield from serving(home_db, service, limits, limit_clock)


async def _close_of(ws: websockets.asyncio.client.ClientConnection) -> websockets.frames.Close:
    """Read until the server closes `ws`; its close frame."""
    try:
        async with asyncio.timeout(30):
            while True:
                await ws.recv()
    except websockets.exceptions.ConnectionClosed as closed:
        assert closed.rcvd is not None, "the server closed without a close frame"
        return closed.rcvd


async def test_frames_past_the_wall_never_reach_engineio_and_the_wall_closes_the_connection(
    walled: RealtimeHandle,
) -> None:
    """1,000 pongs carry no event the buckets could refuse: 10 reach Engine.IO, the rest
    are never read, and the wall closes the connection with 1008 and a reason."""
    url = f"ws://127.0.0.1:{walled.port}/socket.io/?EIO=4&transport=websocket"
    async with websockets.asyncio.client.connect(url) as ws:
        opened = await ws.recv()
        assert str(opened).startswith("0{"), opened  # Engine.IO's open packet
        for _ in range(1000):
            await ws.send("3")
        close = await _close_of(ws)
    assert (close.code, close.reason) == (1008, "too many frames: this connection was closed")
    counts = walled.server.wall.counts
    assert counts.passed_frames == 10 and counts.walled == counts.closed_by_wall == 1, counts


async def test_an_event_flood_the_buckets_never_disconnect_is_ended_by_the_wall(
    home_db: Database, walled: RealtimeHandle, clients: list[Client]
) -> None:
    flooder, token = make_user(home_db, "flood")
    _, other_token = make_user(home_db, "other")
    generation_id = str(make_generation(home_db, flooder.id))
    client = await connected(clients, walled, token)
    answers = await flood(client, generation_id, 2000, stop_when_disconnected=True)
    # The connect packet and 9 events passed; of those, 5 were within the event burst.
    assert len(answers) <= 9
    assert [a for a in answers if "error" not in a][5:] == []
    assert walled.server.wall.counts.passed_frames == 10
    other = await connected(clients, walled, other_token)
    answer = await other.call("join_generation", {"generation_id": generation_id})
    assert answer["error"]["code"] == "not_found", "another connection is not walled"


async def test_a_polling_post_with_more_packets_than_the_wall_is_refused_before_engineio(
    walled: RealtimeHandle,
) -> None:
    base = f"http://127.0.0.1:{walled.port}/socket.io/?EIO=4&transport=polling"
    async with httpx.AsyncClient(timeout=30) as http:
        opened = await http.get(base)
        assert opened.text.startswith("0{"), opened.text
        sid = json.loads(opened.text[1:])["sid"]
        session = f"{base}&sid={sid}"
        small = await http.post(session, content="\x1e".join(["3"] * 4))  # 4 pongs
        assert (small.status_code, small.text) == (200, "OK")
        flood = await http.post(session, content="\x1e".join(["3"] * 11))  # 6 left, not 11
        assert flood.status_code == 429
        assert flood.text == "too many packets: this session sent more than the endpoint allows"
    assert walled.server.wall.counts.walled == 1


# ---- the per-user cap ------------------------------------------------------------------


def slow(description: str, user_id: uuid.UUID) -> GenerationRequest:
    """A real-time plan: it takes minutes, so it stays queued or running while we look."""
    return GenerationRequest(description, user_id, speed=1)


def test_a_user_at_the_cap_is_refused_and_others_are_not(home_db: Database) -> None:
    alice, _ = make_user(home_db, "alice")
    bob, _ = make_user(home_db, "bobby")
    service = GenerationService(home_db, max_concurrent=1, max_active_per_user=2)
    try:
        first = service.start(slow("A library with loans and fines", alice.id))
        service.start(slow("A bakery with orders", alice.id))
        with pytest.raises(TooManyGenerations) as refused:
            service.start(slow("A third plan", alice.id))
        assert str(refused.value) == (
            "you already have 2 generations queued or running; the limit is 2: "
            "wait for one to finish or cancel one"
        )
        assert service.start(slow("Bob's own plan", bob.id))
        assert service.cancel(first)
        service.wait(first, timeout=60)
        assert service.start(slow("Room again", alice.id)), "a finished one frees a place"
    finally:
        service.shutdown(cancel=True)


def test_the_cap_holds_when_many_starts_race(home_db: Database) -> None:
    alice, _ = make_user(home_db, "alice")
    service = GenerationService(home_db, max_concurrent=1, max_active_per_user=3)
    outcomes: list[str] = []
    lock = threading.Lock()

    def start(number: int) -> None:
        try:
            service.start(slow(f"Plan number {number}", alice.id))
            result = "started"
        except TooManyGenerations:
            result = "refused"
        with lock:
            outcomes.append(result)

    try:
        threads = [threading.Thread(target=start, args=(n,)) for n in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert sorted(outcomes) == ["refused"] * 9 + ["started"] * 3
    finally:
        service.shutdown(cancel=True)


async def test_socketio_refuses_a_start_over_the_cap_with_its_own_code(
    home_db: Database, clients: list[Client]
) -> None:
    _, token = make_user(home_db, "alice")
    service = GenerationService(home_db, max_concurrent=1, max_active_per_user=1)
    handle = start_in_thread("127.0.0.1", 0, db=home_db, service=service, bus=EventBus())
    try:
        client = await connected(clients, handle, token)
        request = {"description": "A real-time plan for a bakery", "speed": 1}
        started = await client.call("start_generation", request)
        assert "generation_id" in started, started
        refused = await client.call("start_generation", request)
        assert refused["error"]["code"] == "too_many_generations"
        assert "the limit is 1" in refused["error"]["message"]
    finally:
        handle.stop()
        await asyncio.to_thread(service.shutdown, cancel=True)
