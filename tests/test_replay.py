"""`planner replay ID`: a stored generation re-emitted at its recorded pace, in order."""

from __future__ import annotations

import json
import threading
import time
import uuid

import pytest

from planner.db import Database
from planner.events import EventBus, EventMessage
from planner.replay import (
    BusSink,
    CallbackSink,
    ReplayError,
    ReplayStep,
    load_recording,
    replay,
)
from tests.rows import TEXT, recorded_generation


def test_timeline_merges_events_and_chunks_in_time_order(duckdb: Database) -> None:
    recording = load_recording(duckdb, recorded_generation(duckdb, chunks_ms=20))
    times = [s.t_ms for s in recording.steps]
    assert times == sorted(times)
    assert [c.seq for c in recording.chunks] == list(range(1, 13))
    assert [e.seq for e in recording.events] == list(range(1, len(recording.events) + 1))
    assert [c.attempt for c in recording.chunks] == [1] * 5 + [2] * 7
    names = [e.name for e in recording.events]
    assert names[0] == "masterplan_generation_start"
    assert names[-1] == "masterplan_generation_complete"
    text = "".join(e.payload["text"] for e in recording.events if "text" in e.payload)
    assert text == TEXT
    assert recording.span_ms == times[-1] > 0


def test_replay_on_the_real_clock_is_never_early(duckdb: Database) -> None:
    recording = load_recording(duckdb, recorded_generation(duckdb, chunks_ms=100))
    speed = 20.0
    emitted: list[tuple[float, ReplayStep]] = []
    started = time.monotonic()
    report = replay(
        recording,
        CallbackSink(lambda step: emitted.append((time.monotonic() - started, step))),
        speed=speed,
    )
    assert len(emitted) == len(recording.steps) == report.steps
    expected_total = recording.span_ms / 1000 / speed
    assert expected_total > 0.06
    assert report.elapsed_s >= expected_total  # how late a loaded machine makes it is not
    for at, step in emitted:  # the test's business; the injected clock checks the schedule
        assert at >= step.t_ms / 1000 / speed, step


def test_replay_with_an_injected_clock_waits_exactly_the_scaled_gaps(duckdb: Database) -> None:
    recording = load_recording(duckdb, recorded_generation(duckdb, chunks_ms=40))
    now = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    replay(recording, CallbackSink(lambda step: None), speed=4.0, sleep=sleep, clock=lambda: now[0])
    assert sum(waits) == pytest.approx(recording.span_ms / 1000 / 4.0)
    with pytest.raises(ValueError, match="speed must be greater than 0"):
        replay(recording, CallbackSink(lambda step: None), speed=0)


def test_events_reach_the_bus_in_order(duckdb: Database) -> None:
    recording = load_recording(duckdb, recorded_generation(duckdb, chunks_ms=5))
    bus = EventBus()
    received: list[EventMessage] = []
    done = threading.Event()

    def collect(message: EventMessage) -> None:
        received.append(message)
        if message.name == "masterplan_generation_complete":
            done.set()

    handle = bus.subscribe(collect, generation_id=recording.generation_id)
    replay(recording, BusSink(bus), speed=50.0)
    assert done.wait(5)
    bus.unsubscribe(handle)
    assert [(m.seq, m.name) for m in received] == [(e.seq, e.name) for e in recording.events]
    assert received[0].to_message()["generation_id"] == str(recording.generation_id)


def test_unknown_generation_is_a_clear_error(duckdb: Database) -> None:
    with pytest.raises(ReplayError, match="no generation"):
        load_recording(duckdb, uuid.uuid4())
    with pytest.raises(ReplayError, match="not a generation id"):
        load_recording(duckdb, "nope")


def test_cli_replays_text_and_recovery_notices(invoke, home_db: Database) -> None:  # noqa: ANN001
    home_db.ensure_schema()
    generation_id = recorded_generation(home_db, chunks_ms=10)
    result = invoke("replay", str(generation_id), "--speed", "50")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert TEXT[:200] in out.replace("\n", "")
    notice = "recovery (attempt 2): connection_dropped; tier resume, continuing from char 200"
    assert f"{notice}\n" in out  # one line, however long
    assert out.index("recovery") < out.index(TEXT[200:240])
    assert "completed" in out
    missing = invoke("replay", str(uuid.uuid4()))
    assert missing.exit_code == 3  # nothing by that id
    assert missing.stderr.startswith("planner: replay: no generation")
    bad_speed = invoke("replay", str(generation_id), "--speed", "0")
    assert bad_speed.exit_code != 0
    assert "speed" in bad_speed.stderr


@pytest.mark.redis
def test_socketio_replay_goes_to_the_generation_room_through_redis(duckdb: Database) -> None:
    import redis

    from planner.replay import SocketIOSink
    from tests.conftest import REDIS_URL, skip_or_fail

    recording = load_recording(duckdb, recorded_generation(duckdb, chunks_ms=5))
    channel = f"exp-replay-{uuid.uuid4().hex[:8]}"
    try:
        client = redis.Redis.from_url(REDIS_URL)
        client.ping()
    except redis.RedisError as exc:
        skip_or_fail(f"Redis is not reachable at {REDIS_URL}: {exc}")
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(channel)
    try:
        sink = SocketIOSink(f"{REDIS_URL}?channel={channel}")
        replay(recording, sink, speed=50.0, kinds=("event",))
        sink.close()
        received = []
        deadline = time.monotonic() + 5
        while len(received) < len(recording.events) and time.monotonic() < deadline:
            message = pubsub.get_message(timeout=0.2)
            if message is not None:
                received.append(json.loads(message["data"]))
    finally:
        pubsub.close()
    assert [(m["name"], m["seq"]) for m in received] == [(e.name, e.seq) for e in recording.events]
    assert {m["generation_id"] for m in received} == {str(recording.generation_id)}
    assert received[1]["text"] == TEXT[:40]


def test_socketio_replay_without_redis_says_what_to_set() -> None:
    from planner.replay import SocketIOSink

    with pytest.raises(ReplayError, match="PLANNER_REDIS_URL"):
        SocketIOSink()


@pytest.mark.redis
@pytest.mark.anyio
async def test_cli_replay_reaches_a_socketio_client_in_the_generation_room(
    invoke,  # noqa: ANN001
    home_db: Database,
) -> None:
    """A real server on Redis, a real client in the room, `planner replay --socketio`."""
    import anyio
    import redis

    from planner.events import EventBus
    from planner.plan import GenerationService
    from planner.realtime import start_in_thread
    from tests.conftest import REDIS_URL, skip_or_fail
    from tests.realtime_support import Client, make_user

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        skip_or_fail(f"Redis is not reachable at {REDIS_URL}: {exc}")
    redis_url = f"{REDIS_URL}?channel=exp-test-replay-{uuid.uuid4().hex[:8]}"
    user, token = make_user(home_db, "replayer")
    recording = load_recording(home_db, recorded_generation(home_db, chunks_ms=5, user_id=user.id))
    service = GenerationService(home_db)
    server = start_in_thread("127.0.0.1", 0, redis_url, db=home_db, service=service, bus=EventBus())
    client = Client()
    try:
        await client.connect(server.url, token)
        joined = await client.call(
            "join_generation", {"generation_id": str(recording.generation_id)}
        )
        assert "error" not in joined, joined
        result = await anyio.to_thread.run_sync(
            lambda: invoke(
                "replay",
                str(recording.generation_id),
                "--socketio",
                "--redis",
                redis_url,
                "--speed",
                "20",
            )
        )
        assert result.exit_code == 0, result.stderr
        expected = [(e.seq, e.name) for e in recording.events]
        await client.wait_until(
            lambda: len(client.generation_events(recording.generation_id)) >= len(expected),
            what="the replayed events",
        )
        received = client.generation_events(recording.generation_id)
        assert [(e["seq"], e["name"]) for e in received] == expected
        assert received[1]["text"] == TEXT[:40]
    finally:
        await client.close()
        server.stop()
        service.shutdown()
