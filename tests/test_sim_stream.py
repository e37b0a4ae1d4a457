"""Fault-free streaming and non-streaming through the real anthropic SDK, sync and async.

Pace is read off the simulator's own clock (a `VirtualTimer`), never off the wall clock,
so these tests say the same on an idle machine and on a loaded one.
"""

from __future__ import annotations

import asyncio

import anthropic
import httpx2
import pytest

from planner.plan.model import PLANNING_MODEL
from planner.protocol import RUN_HEADER, SPEED_HEADER, RunKey
from planner.sim import PlainProse, Simulator
from planner.sim.cache import PromptCache
from planner.sim.conversation import Responder
from planner.sim.reply import build_reply
from planner.sim.responses import SLEEP_THRESHOLD_S
from planner.tokens import count_tokens
from tests.sim_helpers import (
    MODEL,
    VirtualTimer,
    async_client,
    client,
    plain_request,
    plan_request,
    stream_text,
)


@pytest.fixture(scope="module")
def sim():
    with Simulator(speed=0) as running:
        yield running


def test_stream_delivers_the_whole_answer_with_final_usage(sim: Simulator) -> None:
    text, message = stream_text(client(sim.base_url), plain_request())
    assert message.stop_reason == "end_turn"
    assert message.content[0].text == text
    assert message.usage.output_tokens == count_tokens(text)
    assert message.usage.input_tokens > 0
    assert message.model == MODEL
    assert message.id.startswith("msg_")


def test_non_streaming_returns_the_same_text_as_the_stream(sim: Simulator) -> None:
    sdk = client(sim.base_url)
    streamed, _ = stream_text(sdk, plain_request())
    message = sdk.messages.create(**plain_request())
    assert message.content[0].text == streamed
    assert message.stop_reason == "end_turn"
    assert message.usage.output_tokens == count_tokens(streamed)


def test_sse_events_arrive_in_the_api_order_with_event_lines(sim: Simulator) -> None:
    body = {**plain_request(), "stream": True}
    with httpx2.stream(
        "POST", f"{sim.base_url}/v1/messages", json=body, headers={"x-api-key": "x"}
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["request-id"].startswith("req_")
        raw = response.read().decode()
    blocks = [b for b in raw.split("\n\n") if b]
    names = [b.split("\n")[0].removeprefix("event: ") for b in blocks]
    assert names[:3] == ["message_start", "content_block_start", "ping"]
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert set(names[3:-3]) <= {"content_block_delta", "ping"}
    assert names.count("content_block_delta") > 5


def test_async_client_streams_the_same_text(sim: Simulator) -> None:
    expected, _ = stream_text(client(sim.base_url), plain_request())

    async def run() -> str:
        async with async_client(sim.base_url).messages.stream(**plain_request()) as stream:
            return "".join([piece async for piece in stream.text_stream])

    assert asyncio.run(run()) == expected


def test_every_response_carries_a_request_id(sim: Simulator) -> None:
    response = httpx2.get(f"{sim.base_url}/admin/health")
    assert response.json() == {"status": "ok"}
    assert response.headers["request-id"].startswith("req_")


def raw_stream(base_url: str, body: dict) -> bytes:
    with httpx2.stream(
        "POST", f"{base_url}/v1/messages", json={**body, "stream": True}, headers={"x-api-key": "x"}
    ) as response:
        return response.read()


def test_same_requests_and_seed_give_the_same_bytes() -> None:
    body = plain_request()
    with Simulator(speed=0, seed=5) as one, Simulator(speed=0, seed=5) as two:
        first = [raw_stream(one.base_url, body) for _ in range(2)]
        second = [raw_stream(two.base_url, body) for _ in range(2)]
    with Simulator(speed=0, seed=6) as other:
        different = raw_stream(other.base_url, body)
    assert first == second
    assert first[0] != first[1]  # a new request gets a new message id
    assert different != first[0]


def test_fifty_concurrent_sdk_streams_all_complete() -> None:
    request = plain_request(max_tokens=60)

    async def one(sdk: anthropic.AsyncAnthropic) -> str:
        async with sdk.messages.stream(**request) as stream:
            text = "".join([piece async for piece in stream.text_stream])
            assert (await stream.get_final_message()).stop_reason == "max_tokens"
            return text

    async def many(base_url: str) -> list[str]:
        sdk = async_client(base_url, timeout=30)
        return await asyncio.gather(*(one(sdk) for _ in range(50)))

    with Simulator(speed=50) as sim:
        expected, _ = stream_text(client(sim.base_url), request)
        texts = asyncio.run(many(sim.base_url))
        stats = sim.stats()
    assert texts == [expected] * 50
    assert stats["streams"] == 51 and stats["active_streams"] == 0


def scheduled_finish_s(body: dict, request_number: int, run: str = "") -> float:
    """When the simulator's schedule has the last token of this request (simulated s)."""
    usage = PromptCache(lambda: 0.0).account(body)
    reply = build_reply(
        Responder(PlainProse()), body, 0, RunKey.parse(run), request_number, (), usage
    )
    return reply.finish_s


def test_fifty_concurrent_streams_keep_their_pace() -> None:
    """Each of fifty streams at once ends on its own schedule, however late the loop wakes.

    The server's clock wakes every sleeper `late_s` late (a busy event loop): deadlines are
    absolute, so a stream ends at most that late, not that late per delta; and time only
    moves when all fifty are asleep, so a stream queued behind another never finishes.
    """
    speed, count, late_s = 5.0, 50, 0.05
    body = {**plain_request(max_tokens=150), "stream": True}
    timer = VirtualTimer()

    async def one(http: httpx2.AsyncClient, url: str) -> bytes:
        async with http.stream("POST", url, json=body) as response:
            return await response.aread()

    async def many(url: str) -> list[bytes]:
        limits = httpx2.Limits(max_connections=100)
        async with httpx2.AsyncClient(timeout=60, limits=limits) as http:
            return await asyncio.gather(*(one(http, url) for _ in range(count)))

    with Simulator(speed=speed, timer=timer) as sim:

        def all_asleep(sleepers: int) -> bool:
            stats = sim.stats()
            return stats["streams"] == count and sleepers == stats["active_streams"]

        with timer.autojump(all_asleep, late_s=late_s):
            bodies = asyncio.run(many(f"{sim.base_url}/v1/messages"))
    assert all(
        b.endswith(b"event: message_stop\n" + b'data: {"type":"message_stop"}\n\n') for b in bodies
    )
    ends: dict[int, float] = {}
    for task, at in timer.wakes:
        ends[task] = at
    assert len(ends) == count  # every stream waited on the clock, each from virtual 0
    scheduled = sorted(scheduled_finish_s(body, n) / speed for n in range(1, count + 1))
    for scheduled_s, ended_s in zip(scheduled, sorted(ends.values()), strict=True):
        assert scheduled_s - SLEEP_THRESHOLD_S <= ended_s <= scheduled_s + late_s


def test_the_speed_header_sets_one_request_s_pace() -> None:
    request = plain_request(max_tokens=100)
    timer = VirtualTimer()
    with Simulator(speed=1, timer=timer) as sim, timer.autojump():
        sdk = client(sim.base_url)
        elapsed = {}
        for speed in ("inf", "10"):
            started = timer.now()
            stream_text(sdk, request, extra_headers={SPEED_HEADER: speed, RUN_HEADER: speed})
            elapsed[speed] = timer.now() - started
        bad = httpx2.post(f"{sim.base_url}/v1/messages", json=request, headers={SPEED_HEADER: "-2"})
    assert elapsed["inf"] == 0
    finish_s = scheduled_finish_s({**request, "stream": True}, 1, run="10")
    assert elapsed["10"] == pytest.approx(finish_s / 10, abs=SLEEP_THRESHOLD_S)
    assert bad.status_code == 400
    assert SPEED_HEADER in bad.json()["error"]["message"]


def test_non_streaming_answers_after_the_whole_generation_time() -> None:
    request = {**plan_request(8), "max_tokens": 4000}
    timer = VirtualTimer()
    with Simulator(speed=40, timer=timer, model=PLANNING_MODEL) as sim, timer.autojump():
        sdk = client(sim.base_url)
        sdk.messages.create(**{**request, "max_tokens": 1})  # both below read the cached prompt
        started = timer.now()
        with sdk.messages.stream(
            **request, extra_headers={RUN_HEADER: str(RunKey("a", "plan"))}
        ) as stream:
            text = "".join(stream.text_stream)
        streamed_s = timer.now() - started
        waits_before = len(timer.wakes)
        started = timer.now()
        message = sdk.messages.create(
            **request, extra_headers={RUN_HEADER: str(RunKey("b", "plan"))}
        )
        whole_s = timer.now() - started
        whole_waits = len(timer.wakes) - waits_before
    assert message.content[0].text == text and message.usage.output_tokens > 1000
    # the same schedule (same seed, run-key scope, request number), but nothing is sent before
    # the last token would have been: one wait, as long as the whole stream
    assert whole_waits == 1
    assert whole_s == pytest.approx(streamed_s, abs=SLEEP_THRESHOLD_S)
