"""Several Socket.IO nodes on one Redis: events from any process reach every node."""

from __future__ import annotations

import json
import queue
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from planner import auth
from planner.config import reset_settings
from planner.db import Database
from planner.events import EventBus, GenerationEvents, TextDelta, TokensProgress
from planner.plan import GenerationService
from planner.realtime import (
    DEFAULT_CHANNEL,
    RealtimeHandle,
    RedisTarget,
    attach_publisher,
    detach_publisher,
    start_in_thread,
)
from tests.conftest import REDIS_URL, REPO_ROOT, cli_env, skip_or_fail
from tests.realtime_support import (
    DESCRIPTION,
    Client,
    Follower,
    Recorder,
    assert_a_recovered_generation,
    follow_to_the_end,
    make_generation,
    make_user,
    reads_releasing,
)

pytestmark = [pytest.mark.anyio, pytest.mark.redis]


@pytest.fixture
def redis_url() -> str:
    """The shared Redis, on a channel no other test or helper uses."""
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        skip_or_fail(f"Redis is not reachable at {REDIS_URL}: {exc}")
    return f"{REDIS_URL}?channel=planner-test-realtime-{uuid.uuid4().hex}"


async def watcher(clients: list[Client], url: str, token: str, generation_id: uuid.UUID) -> Client:
    client = Client()
    clients.append(client)
    await client.connect(url, token)
    joined = await client.call("join_generation", {"generation_id": str(generation_id)})
    assert "error" not in joined, joined
    return client


def test_the_channel_comes_from_the_url_query() -> None:
    plain = RedisTarget.parse("redis://127.0.0.1:6379/0")
    named = RedisTarget.parse("redis://:pw@host:6379/2?channel=staging&socket_timeout=5")
    assert plain == RedisTarget("redis://127.0.0.1:6379/0", DEFAULT_CHANNEL)
    assert named == RedisTarget("redis://:pw@host:6379/2?socket_timeout=5", "staging")
    with pytest.raises(ValueError, match="not a Redis URL"):
        RedisTarget.parse("http://127.0.0.1:6379")
    with pytest.raises(ValueError, match="empty channel"):
        RedisTarget.parse("redis://127.0.0.1:6379/0?channel=")


def test_a_publisher_is_attached_once_per_bus_and_stops_with_its_last_user(
    redis_url: str,
) -> None:
    target = RedisTarget.parse(redis_url)
    redis_client = redis.Redis.from_url(target.url)
    listener = redis_client.pubsub()
    listener.subscribe(target.channel)
    assert listener.get_message(timeout=10)["type"] == "subscribe"
    bus = EventBus()
    first, second = attach_publisher(bus, redis_url), attach_publisher(bus, redis_url)
    events = GenerationEvents(bus, uuid.uuid4())
    events.emit(TokensProgress(tokens_received=1))
    detach_publisher(second)
    events.emit(TokensProgress(tokens_received=2))
    detach_publisher(first)  # returns once every event on the bus has gone out
    events.emit(TokensProgress(tokens_received=3))
    redis_client.publish(target.channel, "end of test")  # Redis keeps the publish order

    received = []
    while (message := listener.get_message(timeout=10)) and message["data"] != b"end of test":
        received.append(json.loads(message["data"]))
    listener.close()
    assert first is second
    assert [m["tokens_received"] for m in received] == [1, 2], (
        "once per event while attached, nothing after the last detach"
    )
    assert received[0] == {
        "name": "masterplan_tokens_progress",
        "generation_id": str(events.generation_id),
        "seq": 1,
        **received[0],
    }
    assert attach_publisher(bus, None) is None, "no Redis configured: nothing to attach"


@pytest.fixture
def nodes(redis_url: str, home_db: Database) -> Iterator[tuple[EventBus, list[RealtimeHandle]]]:
    bus = EventBus()
    service = GenerationService(home_db, bus=bus)
    handles = [
        start_in_thread("127.0.0.1", 0, redis_url, db=home_db, service=service, bus=bus)
        for _ in range(2)
    ]
    yield bus, handles
    for handle in handles:
        handle.stop()
    service.shutdown(cancel=True)


async def test_two_nodes_in_one_process_deliver_each_event_once_in_order(
    home_db: Database,
    nodes: tuple[EventBus, list[RealtimeHandle]],
    redis_url: str,
    clients: list[Client],
) -> None:
    bus, (first, second) = nodes
    # The generation code of this process attaches too: events must still go out once.
    publisher = attach_publisher(bus, redis_url)
    user, token = make_user(home_db, "alice")
    generation_id = make_generation(home_db, user.id)
    watchers = [await watcher(clients, node.url, token, generation_id) for node in (first, second)]
    events = GenerationEvents(bus, generation_id)
    for i in range(200):
        events.emit(TextDelta(text=str(i), from_char=i) if i % 2 else TokensProgress(chars=i))
    for client in watchers:
        await client.wait_until(lambda c=client: len(c.generation_events(generation_id)) >= 200)
    detach_publisher(publisher)

    for client in watchers:
        received = client.generation_events(generation_id)
        assert [e["seq"] for e in received] == list(range(1, 201))
        assert received[1] == {
            "name": "masterplan_text_delta",
            "generation_id": str(generation_id),
            "seq": 2,
            "text": "1",
            "from_char": 1,
            "stage": "masterplan",
        }


@pytest.fixture
def recorder(home_db: Database) -> Iterator[Recorder]:
    recorder = Recorder(EventBus(), home_db)
    yield recorder
    recorder.close()


@pytest.fixture
def short_reads() -> list[int]:
    return []


@pytest.fixture
def lagging_node(
    home_db: Database, redis_url: str, recorder: Recorder, short_reads: list[int]
) -> Iterator[RealtimeHandle]:
    """A node whose first short read of stored events lets the recorder store them."""
    reads = reads_releasing(recorder, 5, short_reads)
    service = GenerationService(home_db, bus=recorder.bus)
    handle = start_in_thread(
        "127.0.0.1",
        0,
        redis_url,
        db=home_db,
        service=service,
        bus=recorder.bus,
        reads=reads,
        catch_up_wait_s=120,
    )
    yield handle
    handle.stop()
    service.shutdown(cancel=True)


async def test_a_node_on_redis_waits_for_the_recorder_before_answering_a_catch_up(
    home_db: Database,
    lagging_node: RealtimeHandle,
    recorder: Recorder,
    short_reads: list[int],
    clients: list[Client],
) -> None:
    user, token = make_user(home_db, "alice")
    generation_id = make_generation(home_db, user.id)
    client = Client()
    clients.append(client)
    await client.connect(lagging_node.url, token)
    recorder.gate.clear()
    events = GenerationEvents(recorder.bus, generation_id)
    for i in range(5):
        events.emit(TokensProgress(tokens_received=i))
    # Through Redis and back: the node notes what it relayed, before anyone joined.
    await client.wait_until(lambda: lagging_node.server.high_water.get(generation_id) == 5)
    await client.call("join_generation", {"generation_id": str(generation_id)})

    reply = await client.call(
        "request_catch_up", {"generation_id": str(generation_id), "after_seq": 0}
    )

    assert short_reads[:1] == [0], "the node looked before the recorder had stored any"
    assert [e["seq"] for e in reply["events"]] == [1, 2, 3, 4, 5]


class PlannerProcess:
    """`planner ARGS...` in a subprocess whose stderr is read (and drained) on a thread."""

    def __init__(self, *args: str, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "planner", *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=cli_env(**env),
            cwd=REPO_ROOT,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.put(line)

    def wait_for(self, pattern: str, timeout_s: float = 120) -> re.Match[str]:
        """The first stderr line matching `pattern` (later lines stay queued)."""
        seen = []
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self.stop()
                raise AssertionError(f"no {pattern!r} on stderr; saw {seen}") from None
            seen.append(line)
            if match := re.search(pattern, line):
                return match

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class ServeProcess(PlannerProcess):
    """`planner serve --port 0 --redis URL`, as an operator runs it."""

    def __init__(self, redis_url: str, env: dict[str, str]) -> None:
        super().__init__("serve", "--port", "0", "--redis", redis_url, env=env)
        self.url = self.wait_for(r"Socket\.IO endpoint on (http://\S+?),").group(1)


@pytest.fixture
def shared_database(
    pg_url: str, planner_home: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """Several processes share PostgreSQL and one JWT secret, as nodes in production do."""
    env = {
        "PLANNER_DATABASE_URL": pg_url,
        "PLANNER_JWT_SECRET": "s" * 48,
        "PLANNER_HOME": str(planner_home),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    reset_settings()
    return env


async def test_events_from_any_process_reach_clients_on_every_server_process(
    postgres: Database, shared_database: dict[str, str], redis_url: str, clients: list[Client]
) -> None:
    servers = [ServeProcess(redis_url, shared_database) for _ in range(2)]
    try:
        user, token = make_user(postgres, "alice")
        generation_id = make_generation(postgres, user.id)
        watchers = [await watcher(clients, s.url, token, generation_id) for s in servers]
        # This test process plays the CLI running a generation: its bus goes out via Redis.
        bus = EventBus()
        publisher = attach_publisher(bus, redis_url)
        events = GenerationEvents(bus, generation_id)
        for i in range(300):
            events.emit(TokensProgress(tokens_received=i, chars=i * 4))
        for client in watchers:
            await client.wait_until(lambda c=client: len(c.generation_events(generation_id)) >= 300)
        detach_publisher(publisher)
        _, stranger_token = make_user(postgres, "mallory")
        stranger = Client()
        clients.append(stranger)
        await stranger.connect(servers[1].url, stranger_token)
        refused = await stranger.call("join_generation", {"generation_id": str(generation_id)})
    finally:
        for server in servers:
            server.stop()

    for client in watchers:
        assert [e["seq"] for e in client.generation_events(generation_id)] == list(range(1, 301))
    assert refused["error"]["code"] == "not_found"
    assert auth.verify_access_token(postgres, token).username == "alice"


async def test_a_generation_started_through_one_server_process_is_watched_through_another(
    postgres: Database,
    shared_database: dict[str, str],
    redis_url: str,
    clients: list[Client],
) -> None:
    _, token = make_user(postgres, "alice")
    servers = [ServeProcess(redis_url, shared_database) for _ in range(2)]
    # On PostgreSQL a start is a job: a worker runs it and publishes through the same Redis.
    worker = PlannerProcess(
        "worker", "--concurrency", "2", env={**shared_database, "PLANNER_REDIS_URL": redis_url}
    )
    servers.append(worker)
    try:
        starter, watcher = Client(), Client()
        clients += [starter, watcher]
        await starter.connect(servers[0].url, token)
        await watcher.connect(servers[1].url, token)
        started = await starter.call(
            "start_generation", {"description": DESCRIPTION, "faults": "drop-at-90", "speed": 15}
        )
        generation_id = started["generation_id"]
        joined = await watcher.call("join_generation", {"generation_id": generation_id})
        follower = Follower(watcher, generation_id)
        events = await follow_to_the_end(follower, timeout_s=180)
        live = watcher.generation_events(generation_id)
    finally:
        for server in servers:
            server.stop()

    assert joined["status"] in {"queued", "running"}
    assert_a_recovered_generation(events)
    assert len(live) > len(events) // 2, "most events reached the other node live"
    assert {e["seq"] for e in live} <= {e["seq"] for e in events}


async def test_a_cli_generation_reaches_clients_of_a_server_process(
    postgres: Database, shared_database: dict[str, str], redis_url: str, clients: list[Client]
) -> None:
    _, token = make_user(postgres, "alice")
    server = ServeProcess(redis_url, shared_database)
    cli = PlannerProcess(
        "generate",
        DESCRIPTION,
        "--user",
        "alice",
        "--faults",
        "drop-at-90",
        "--speed",
        "15",
        env={"PLANNER_REDIS_URL": redis_url, **shared_database},
    )
    try:
        announced = cli.wait_for(r"generation ([0-9a-f-]{36})")
        watcher = Client()
        clients.append(watcher)
        await watcher.connect(server.url, token)
        joined = await watcher.call("join_generation", {"generation_id": announced.group(1)})
        follower = Follower(watcher, announced.group(1))
        events = await follow_to_the_end(follower, timeout_s=180)
        live = watcher.generation_events(announced.group(1))
        assert cli.process.wait(60) == 0
    finally:
        cli.stop()
        server.stop()

    assert "error" not in joined
    assert_a_recovered_generation(events)
    assert len(live) > len(events) // 2, "most events came live from the CLI process"
