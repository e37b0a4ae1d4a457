"""Fault-free streaming and non-streaming through the real anthropic SDK, sync and async."""

from __future__ import annotations

import asyncio
import time

import anthropic
import httpx2
import pytest
from sim_helpers import MODEL, async_client, client, plain_request, plan_request, stream_text

from planner.plan.model import PLANNING_MODEL
from planner.protocol import SPEED_HEADER
from planner.sim import Simulator
from planner.tokens import count_tokens


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
    request = plain_request(max_tokens=150)

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


def test_fifty_concurrent_streams_keep_their_pace() -> None:
    """Measured with a lean HTTP client, so the figure is the server's pacing alone."""
    body = {**plain_request(max_tokens=150), "stream": True}

    async def one(http: httpx2.AsyncClient, url: str) -> float:
        started = time.monotonic()
        async with http.stream("POST", url, json=body) as response:
            await response.aread()
        return time.monotonic() - started

    async def many(url: str, count: int) -> list[float]:
        limits = httpx2.Limits(max_connections=100)
        async with httpx2.AsyncClient(timeout=30, limits=limits) as http:
            return sorted(await asyncio.gather(*(one(http, url) for _ in range(count))))

    with Simulator(speed=5) as sim:
        url = f"{sim.base_url}/v1/messages"
        (alone_s,) = asyncio.run(many(url, 1))
        durations = asyncio.run(many(url, 50))
    # 150 tokens at ~130 tokens/s after a ~1.2 s first-token wait, 5x faster: ~0.5 s of
    # pacing each; fifty at once keep that pace instead of queueing behind each other
    assert alone_s > 0.3
    assert durations[len(durations) // 2] < 1.5 * alone_s
    assert durations[-1] < 2.5 * alone_s


def test_the_speed_header_sets_one_request_s_pace() -> None:
    request = plain_request(max_tokens=100)
    with Simulator(speed=1) as sim:
        sdk = client(sim.base_url)
        stream_text(sdk, request, extra_headers={SPEED_HEADER: "0"})  # connect first
        started = time.monotonic()
        stream_text(sdk, request, extra_headers={SPEED_HEADER: "inf"})
        unlimited_s = time.monotonic() - started
        started = time.monotonic()
        stream_text(sdk, request, extra_headers={SPEED_HEADER: "10"})
        paced_s = time.monotonic() - started
        bad = httpx2.post(f"{sim.base_url}/v1/messages", json=request, headers={SPEED_HEADER: "-2"})
    # ~1.2 s to the first token and 100 tokens at ~130 tokens/s, ten times faster
    assert paced_s >= 0.1
    assert unlimited_s < paced_s
    assert bad.status_code == 400
    assert SPEED_HEADER in bad.json()["error"]["message"]


def test_non_streaming_answers_after_the_whole_generation_time() -> None:
    request = {**plan_request(8), "max_tokens": 4000}
    with Simulator(speed=40, model=PLANNING_MODEL) as sim:
        sdk = client(sim.base_url)
        started = time.monotonic()
        with sdk.messages.stream(**request) as stream:
            first_token_s = None
            for _ in stream.text_stream:
                first_token_s = first_token_s or time.monotonic() - started
        streamed_s = time.monotonic() - started
        started = time.monotonic()
        message = sdk.messages.create(**request)
        whole_s = time.monotonic() - started
    assert message.usage.output_tokens > 1000
    # nothing arrives before the last token would have: at least the stream's duration
    # minus the jitter between two draws of the schedule
    assert whole_s >= 0.6 * streamed_s
    assert first_token_s is not None and whole_s > first_token_s
