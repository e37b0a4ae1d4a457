"""Latency from a chunk reaching the generator to its progress event reaching a client.

A server process hosts the endpoint on a thread (as the dashboard does) and plays the
generator: chunks arrive at a steady rate, and every `tick_every` chunks it publishes what
planner's generator publishes on a progress tick, a coalesced `masterplan_text_delta`
and a `masterplan_tokens_progress`, noting the time the chunk arrived. Clients in this
processes (four, so that 100 clients are not serialised in one Python event loop) join
the generation's room and note when each progress event reaches their handler. All
processes read the same system-wide monotonic clock.

Scenarios: 1 and 100 watching clients, endpoint alone and with Redis between nodes, at a
tick every 5 chunks (ten times the resilient client's default of 50), plus a stress run
with a tick on every chunk. Target: p99 < 50 ms with 100 clients, met only when the 95%
order-statistic interval of the p99 lies under it (`planner.contenders.stats`).
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import socketio

from planner.contenders.stats import met, quantile_interval

CHUNKS_PER_S = 50  # a fast model's stream
TARGET_P99_MS = 50.0
CLIENT_PROCESSES = 4
REDIS_URL = os.environ.get("PLANNER_TEST_REDIS", "redis://127.0.0.1:6379/0")


@dataclass(frozen=True)
class Scenario:
    label: str
    watchers: int
    tick_every: int
    chunks: int


SCENARIOS = [
    Scenario("tick/5 chunks", 1, 5, 500),
    Scenario("tick/5 chunks", 100, 5, 500),
    Scenario("stress: tick/chunk", 100, 1, 250),
]


def _server_main(conn: Connection, env: dict[str, str], redis_url: str | None) -> None:
    os.environ.update(env)
    from planner.db import Database
    from planner.events import EventBus, GenerationEvents, TextDelta, TokensProgress
    from planner.plan import GenerationService
    from planner.realtime import start_in_thread

    bus = EventBus()
    db = Database.from_settings()
    service = GenerationService(db, bus=bus)
    handle = start_in_thread("127.0.0.1", 0, redis_url, db=db, service=service, bus=bus)
    conn.send(handle.url)
    cpu_at_start = time.process_time()
    while (command := conn.recv()) is not None:
        if command == "cpu":  # the server's CPU time since the last run began
            conn.send(time.process_time() - cpu_at_start)
            continue
        cpu_at_start = time.process_time()
        generation_id, chunks, tick_every = command
        events = GenerationEvents(bus, uuid.UUID(generation_id))
        chunk_arrived: dict[int, float] = {}
        next_at = time.monotonic()
        for chunk in range(1, chunks + 1):
            next_at += 1 / CHUNKS_PER_S
            time.sleep(max(0.0, next_at - time.monotonic()))
            arrived = time.monotonic()
            if chunk % tick_every:
                continue
            events.emit(TextDelta(text="token " * 4 * tick_every, from_char=chunk * 24))
            message = events.emit(TokensProgress(tokens_received=chunk * 4, chars=chunk * 24))
            chunk_arrived[message.seq] = arrived
        conn.send(chunk_arrived)
    handle.stop()


async def _connect(url: str, token: str, generation_id: str) -> tuple[Any, dict[int, float]]:
    client = socketio.AsyncClient(reconnection=False)
    seen: dict[int, float] = {}

    async def on_progress(data: dict[str, Any]) -> None:
        seen[data["seq"]] = time.monotonic()

    client.on("masterplan_tokens_progress", on_progress)
    await client.connect(url, auth={"token": token}, transports=["websocket"], wait_timeout=30)
    reply = await client.call("join_generation", {"generation_id": generation_id}, timeout=30)
    assert "error" not in reply, reply
    return client, seen


def _watch_main(conn: Connection, url: str, token: str, generation_id: str, count: int) -> None:
    """One process of watching clients: connect, join, record arrivals, report them."""

    async def watch() -> None:
        connected = []
        for start in range(0, count, 10):
            batch = range(start, min(start + 10, count))
            connected += await asyncio.gather(*(_connect(url, token, generation_id) for _ in batch))
        conn.send("ready")
        expected = await asyncio.to_thread(conn.recv)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and any(len(s) < expected for _, s in connected):
            await asyncio.sleep(0.05)
        conn.send([seen for _, seen in connected])
        for client, _ in connected:
            await client.disconnect()

    asyncio.run(watch())


def _run(
    url: str, token: str, generation_id: str, scenario: Scenario, server: Connection
) -> tuple[list[float], int, float]:
    """Spread the watchers over a few processes, as real clients are, then play."""
    context = mp.get_context("spawn")
    workers = []
    for index in range(min(CLIENT_PROCESSES, scenario.watchers)):
        count = len(range(index, scenario.watchers, CLIENT_PROCESSES))
        parent, child = context.Pipe()
        process = context.Process(
            target=_watch_main, args=(child, url, token, generation_id, count)
        )
        process.start()
        workers.append((process, parent))
    for _, parent in workers:
        parent.recv()  # "ready": every client has joined the room
    server.send((generation_id, scenario.chunks, scenario.tick_every))
    chunk_arrived: dict[int, float] = server.recv()
    for _, parent in workers:
        parent.send(len(chunk_arrived))
    arrivals: list[dict[int, float]] = []
    for process, parent in workers:
        arrivals += parent.recv()
        process.join()
    server.send("cpu")
    server_cpu_s: float = server.recv()
    latencies = [
        (seen[seq] - arrived) * 1000
        for seen in arrivals
        for seq, arrived in chunk_arrived.items()
        if seq in seen
    ]
    deliveries = 2 * len(chunk_arrived) * len(arrivals)  # a text delta and a progress each
    missing = len(chunk_arrived) * len(arrivals) - len(latencies)
    return latencies, missing, server_cpu_s / deliveries


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _setup(count: int) -> tuple[str, list[str]]:
    from planner import auth
    from planner.config import reset_settings
    from planner.db import Database, Generation

    reset_settings()
    with Database.from_settings() as db:  # closed: the server process reads the file next
        user = auth.create_user(db, "bench", "bench password 123")
        with db.session() as session:
            rows = [
                Generation(user_id=user.id, description="bench", strategy="resume", model="bench")
                for _ in range(count)
            ]
            session.add_all(rows)
    return auth.issue_access_token(user), [str(row.id) for row in rows]


def _redis_channel() -> str | None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError:
        return None
    return f"{REDIS_URL}?channel=planner-bench-realtime-{uuid.uuid4().hex}"


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="planner-bench-rt-") as home:
        env = {"PLANNER_HOME": home, "PLANNER_JWT_SECRET": "b" * 48}
        os.environ.update(env)
        token, generation_ids = _setup(2 * len(SCENARIOS))
        ids = iter(generation_ids)
        print(
            f"chunks at {CHUNKS_PER_S}/s; a progress tick = text delta + progress event; "
            "latency = chunk reaches the generator -> progress event in a client's handler"
        )
        print(
            "load average before: "
            + " ".join(f"{load:.1f}" for load in os.getloadavg())
            + f" on {os.cpu_count()} cores"
        )
        for transport, redis_url in (("alone", None), ("redis", _redis_channel())):
            if transport == "redis" and redis_url is None:
                print("  redis: skipped (Redis not reachable)")
                continue
            context = mp.get_context("spawn")
            parent, child = context.Pipe()
            server = context.Process(target=_server_main, args=(child, env, redis_url))
            server.start()
            url = parent.recv()
            for scenario in SCENARIOS:
                latencies, missing, cpu_per_delivery = _run(url, token, next(ids), scenario, parent)
                p50, p99 = statistics.median(latencies), _percentile(latencies, 0.99)
                interval = quantile_interval(latencies, 0.99)
                bounds = (
                    f"95% {interval.low:.2f}-{interval.high:.2f} ms"
                    if interval
                    else "too few for a 95% interval"
                )
                verdict = "met" if met(interval, TARGET_P99_MS) else "NOT met"
                lost = f"; {missing} NEVER ARRIVED" if missing else ""
                print(
                    f"  {transport:5s} {scenario.label:18s} {scenario.watchers:3d} client(s): "
                    f"median {p50:7.2f} ms  p99 {p99:7.2f} ms  max {max(latencies):7.2f} ms  "
                    f"(n={len(latencies)} deliveries{lost}; p99 {bounds}; "
                    f"p99 < {TARGET_P99_MS:.0f} ms: {verdict}; "
                    f"server CPU {cpu_per_delivery * 1e6:.0f} us/delivery)",
                    flush=True,
                )
            parent.send(None)
            server.join(15)


if __name__ == "__main__":
    main()
