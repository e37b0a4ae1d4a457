"""Every fault, and the exact symptom the real anthropic SDK shows for it (sync and async)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import anthropic
import httpx2
import pytest
from sim_helpers import async_client, client, plain_request, plan_request, stream_text
from sim_helpers import fault_headers as faults

from planner.plan.model import PLANNING_MODEL
from planner.sim import Simulator

SPEED = 200.0


@pytest.fixture(scope="module")
def sim():
    with Simulator(speed=SPEED, model=PLANNING_MODEL) as running:
        yield running


def full_text(sim: Simulator, request: dict) -> str:
    return stream_text(client(sim.base_url), request, extra_headers=faults())[0]


def test_reset_raises_the_raw_httpx2_protocol_error_after_part_of_the_text(sim: Simulator) -> None:
    request = plain_request()
    expected = full_text(sim, request)
    received: list[str] = []
    headers = faults({"type": "reset", "at_fraction": 0.5})
    with pytest.raises(httpx2.RemoteProtocolError, match="incomplete chunked read"):  # noqa: SIM117
        with client(sim.base_url).messages.stream(**request, extra_headers=headers) as stream:
            received.extend(stream.text_stream)
    text = "".join(received)
    assert expected.startswith(text)
    assert 0.4 * len(expected) <= len(text) <= 0.6 * len(expected)


def test_reset_after_bytes_cuts_the_body_at_that_size(sim: Simulator) -> None:
    body = {**plain_request(), "stream": True}
    headers = {"x-api-key": "x", **faults({"type": "reset", "after_bytes": 1500})}
    received = bytearray()
    with pytest.raises(httpx2.RemoteProtocolError):  # noqa: SIM117
        with httpx2.stream(
            "POST", f"{sim.base_url}/v1/messages", json=body, headers=headers
        ) as response:
            for chunk in response.iter_bytes():
                received += chunk
    assert 1500 <= len(received) < 2500
    assert received.endswith(b"\n\n")


def test_reset_after_seconds_counts_simulated_time(sim: Simulator) -> None:
    request = plan_request(8)
    headers = faults({"type": "reset", "after_s": 3.0})
    received: list[str] = []
    with pytest.raises(httpx2.RemoteProtocolError):  # noqa: SIM117
        with client(sim.base_url).messages.stream(**request, extra_headers=headers) as stream:
            received.extend(stream.text_stream)
    # about (3 s - time to first token) of a ~130 tokens/s model
    assert 30 < len("".join(received)) < 2400


def test_reset_on_the_first_request_only_lets_the_second_through(sim: Simulator) -> None:
    run = uuid.uuid4().hex
    spec = faults({"type": "reset", "at_fraction": 0.9, "on_requests": [1]}, run=run)
    sdk = client(sim.base_url)
    with pytest.raises(httpx2.RemoteProtocolError):
        stream_text(sdk, plain_request(), extra_headers=spec)
    text, message = stream_text(sdk, plain_request(), extra_headers=spec)
    assert message.stop_reason == "end_turn"
    assert text == full_text(sim, plain_request())


def test_sse_error_raises_api_status_error_with_the_error_type(sim: Simulator) -> None:
    headers = faults({"type": "sse_error", "error_type": "overloaded_error", "at_fraction": 0.3})
    with pytest.raises(anthropic.APIStatusError) as caught:
        stream_text(client(sim.base_url), plain_request(), extra_headers=headers)
    assert caught.value.type == "overloaded_error"
    assert caught.value.status_code == 200  # the error came inside a 200 stream


def test_sse_api_error_type(sim: Simulator) -> None:
    headers = faults({"type": "sse_error", "error_type": "api_error"})
    with pytest.raises(anthropic.APIStatusError) as caught:
        stream_text(client(sim.base_url), plain_request(), extra_headers=headers)
    assert caught.value.type == "api_error"


def test_sse_error_on_a_non_streaming_request_is_an_http_error(sim: Simulator) -> None:
    headers = faults({"type": "sse_error", "error_type": "overloaded_error"})
    with pytest.raises(anthropic.APIStatusError) as caught:
        client(sim.base_url).messages.create(**plain_request(), extra_headers=headers)
    assert caught.value.status_code == 529
    assert caught.value.type == "overloaded_error"


def test_eof_ends_quietly_without_a_stop_reason(sim: Simulator) -> None:
    expected = full_text(sim, plain_request())
    headers = faults({"type": "eof", "at_fraction": 0.6})
    text, message = stream_text(client(sim.base_url), plain_request(), extra_headers=headers)
    assert message.stop_reason is None
    assert expected.startswith(text)
    assert 0.5 * len(expected) < len(text) < 0.7 * len(expected)


def test_stall_trips_a_short_client_read_timeout(sim: Simulator) -> None:
    headers = faults({"type": "stall", "at_fraction": 0.5, "stall_ms": 120_000})  # 0.6 s real
    sdk = client(sim.base_url, timeout=anthropic.Timeout(10.0, read=0.3))
    received: list[str] = []
    with pytest.raises(httpx2.ReadTimeout):  # noqa: SIM117
        with sdk.messages.stream(**plain_request(), extra_headers=headers) as stream:
            received.extend(stream.text_stream)
    assert received


def test_stall_is_survived_by_a_patient_client(sim: Simulator) -> None:
    expected = full_text(sim, plain_request())
    headers = faults({"type": "stall", "at_fraction": 0.5, "stall_ms": 20_000})  # 0.1 s real
    started = time.monotonic()
    text, message = stream_text(client(sim.base_url), plain_request(), extra_headers=headers)
    assert time.monotonic() - started >= 0.1
    assert text == expected and message.stop_reason == "end_turn"


@pytest.mark.parametrize(
    ("status", "error_class", "error_type"),
    [
        (429, anthropic.RateLimitError, "rate_limit_error"),
        (500, anthropic.InternalServerError, "api_error"),
        (503, anthropic.InternalServerError, "api_error"),
        (529, anthropic.APIStatusError, "overloaded_error"),
    ],
)
def test_http_error_before_the_stream(
    sim: Simulator, status: int, error_class: type, error_type: str
) -> None:
    headers = faults({"type": "http_error", "status": status, "retry_after_s": 20})
    with pytest.raises(error_class) as caught:
        stream_text(client(sim.base_url), plain_request(), extra_headers=headers)
    assert caught.value.status_code == status
    assert caught.value.type == error_type
    assert caught.value.request_id.startswith("req_")
    assert caught.value.response.headers["retry-after"] == "0.1"  # 20 s at speed 200


def test_sdk_retries_a_529_honouring_retry_after(sim: Simulator) -> None:
    spec = faults(
        {"type": "http_error", "status": 529, "retry_after_ms": 60_000, "on_requests": [1, 2]}
    )
    sdk = client(sim.base_url, max_retries=2)
    before = sim.stats()["statuses"].get("529", 0)
    started = time.monotonic()
    text, message = stream_text(sdk, plain_request(), extra_headers=spec)
    waited = time.monotonic() - started
    assert message.stop_reason == "end_turn" and text
    assert sim.stats()["statuses"]["529"] - before == 2
    assert waited >= 2 * 0.3  # two retries, each after retry-after-ms 60 s / speed 200


def test_latency_delays_the_first_token(sim: Simulator) -> None:
    headers = faults({"type": "latency", "latency_ms": 100_000})  # 0.5 s real
    started = time.monotonic()
    with client(sim.base_url).messages.stream(**plain_request(), extra_headers=headers) as stream:
        next(iter(stream.text_stream))
        first_token_s = time.monotonic() - started
        stream.until_done()
    assert first_token_s >= 0.5


def test_bandwidth_caps_the_token_rate(sim: Simulator) -> None:
    request = plain_request(max_tokens=200)
    headers = faults({"type": "bandwidth", "tokens_per_s": 4})  # 800 tokens/s real at speed 200
    started = time.monotonic()
    _, message = stream_text(client(sim.base_url), request, extra_headers=headers)
    # every token after the first delta waits for the capped rate (jitter is at most 35%)
    capped_s = (message.usage.output_tokens - 5) / 4 / SPEED
    assert time.monotonic() - started >= 0.65 * capped_s


def test_cutoff_closes_a_stream_after_simulated_seconds(sim: Simulator) -> None:
    headers = faults({"type": "cutoff", "after_s": 4})
    received: list[str] = []
    with pytest.raises(httpx2.RemoteProtocolError):  # noqa: SIM117
        with client(sim.base_url).messages.stream(
            **plan_request(30), extra_headers=headers
        ) as stream:
            received.extend(stream.text_stream)
    assert received


def test_cutoff_closes_a_non_streaming_request_without_a_response(sim: Simulator) -> None:
    headers = faults({"type": "cutoff", "after_s": 4})
    with pytest.raises(anthropic.APIConnectionError) as caught:
        client(sim.base_url).messages.create(
            **{**plan_request(30), "max_tokens": 8000}, extra_headers=headers
        )
    assert isinstance(caught.value.__cause__, httpx2.RemoteProtocolError)


def test_cutoff_leaves_short_answers_alone(sim: Simulator) -> None:
    headers = faults({"type": "cutoff", "after_s": 134})
    message = client(sim.base_url).messages.create(**plain_request(), extra_headers=headers)
    assert message.stop_reason == "end_turn"


def test_corrupt_damages_the_json_and_wraps_it_in_prose(sim: Simulator) -> None:
    request = plan_request(8)
    clean = full_text(sim, request)
    headers = faults({"type": "corrupt", "drop_brackets": 1, "prose": True})
    damaged, message = stream_text(client(sim.base_url), request, extra_headers=headers)
    assert message.stop_reason == "end_turn"
    assert damaged != clean and damaged.startswith("Here is")
    with pytest.raises(json.JSONDecodeError):
        json.loads(damaged)
    inner = damaged[damaged.index("{") : damaged.rindex("]") + 1]
    with pytest.raises(json.JSONDecodeError):
        json.loads(inner)
    assert json.loads(inner + "\n}") == json.loads(clean)


ASYNC_SYMPTOMS = [
    ({"type": "reset", "at_fraction": 0.5}, httpx2.RemoteProtocolError, None),
    ({"type": "cutoff", "after_s": 2}, httpx2.RemoteProtocolError, None),
    ({"type": "sse_error", "error_type": "overloaded_error"}, anthropic.APIStatusError, None),
    ({"type": "sse_error", "error_type": "api_error"}, anthropic.APIStatusError, None),
    ({"type": "http_error", "status": 529}, anthropic.APIStatusError, None),
    ({"type": "http_error", "status": 429}, anthropic.RateLimitError, None),
    # long enough to outlast the client's own backlog of events from ten other streams
    ({"type": "stall", "stall_ms": 600_000}, httpx2.ReadTimeout, None),
    ({"type": "eof", "at_fraction": 0.5}, None, "None"),
    ({"type": "latency", "latency_ms": 2_000}, None, "end_turn"),
    ({"type": "bandwidth", "tokens_per_s": 60}, None, "end_turn"),
    ({"type": "corrupt"}, None, "end_turn"),
]


def test_async_client_sees_the_same_symptoms(sim: Simulator) -> None:
    """Every fault at once, concurrently, through AsyncAnthropic."""
    sdk = async_client(sim.base_url, timeout=anthropic.Timeout(10.0, read=1.0))

    async def run(spec: dict) -> BaseException | str:
        try:
            request = plan_request(8)
            async with sdk.messages.stream(**request, extra_headers=faults(spec)) as stream:
                async for _ in stream.text_stream:
                    pass
                return str((await stream.get_final_message()).stop_reason)
        except Exception as exc:  # noqa: BLE001 - the symptom is the result
            return exc

    async def all_of_them() -> list[BaseException | str]:
        return await asyncio.gather(*(run(spec) for spec, _, _ in ASYNC_SYMPTOMS))

    for outcome, (spec, error, stop_reason) in zip(
        asyncio.run(all_of_them()), ASYNC_SYMPTOMS, strict=True
    ):
        if error is None:
            assert outcome == stop_reason, spec
        else:
            assert isinstance(outcome, error), (spec, outcome)
            if spec["type"] in ("sse_error", "http_error") and "error_type" in spec:
                assert outcome.type == spec["error_type"]


def test_async_sdk_retries_honour_retry_after(sim: Simulator) -> None:
    spec = {"type": "http_error", "status": 529, "retry_after_s": 40, "on_requests": [1]}

    async def run() -> str:
        sdk = async_client(sim.base_url, max_retries=1)
        async with sdk.messages.stream(**plain_request(), extra_headers=faults(spec)) as stream:
            return str((await stream.get_final_message()).stop_reason)

    started = time.monotonic()
    assert asyncio.run(run()) == "end_turn"
    assert time.monotonic() - started >= 0.2  # retry-after 40 s at speed 200


def test_faults_fired_are_counted_by_type(sim: Simulator) -> None:
    before = sim.stats()["faults_fired"].get("eof", 0)
    stream_text(client(sim.base_url), plain_request(), extra_headers=faults({"type": "eof"}))
    assert sim.stats()["faults_fired"]["eof"] == before + 1


def test_reset_after_bytes_of_a_non_streaming_body(sim: Simulator) -> None:
    headers = faults({"type": "reset", "after_bytes": 200})
    with pytest.raises(anthropic.APIConnectionError) as caught:
        client(sim.base_url).messages.create(**plain_request(), extra_headers=headers)
    assert isinstance(caught.value.__cause__, httpx2.RemoteProtocolError)


def test_reset_at_a_fraction_of_a_non_streaming_request(sim: Simulator) -> None:
    headers = faults({"type": "reset", "at_fraction": 0.5})
    with pytest.raises(anthropic.APIConnectionError) as caught:
        client(sim.base_url).messages.create(**plain_request(), extra_headers=headers)
    assert "without sending a response" in str(caught.value.__cause__)
