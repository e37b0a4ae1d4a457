"""Fault-free streaming and non-streaming through the real anthropic SDK, sync and async."""

from __future__ import annotations

import asyncio

import httpx2
import pytest
from sim_helpers import MODEL, async_client, client, plain_request, stream_text

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
