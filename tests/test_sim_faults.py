"""Every fault, and the exact symptom the real anthropic SDK shows for it (sync and async).

Delays are read off the simulator's own clock (a `VirtualTimer`); the stalls that must
trip the SDK's real read timeout are hundreds of times longer than that timeout, so no
outcome depends on how fast the machine is.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Iterator
from typing import TypeVar

import anthropic
import httpx2
import pytest

from planner.plan.model import PLANNING_MODEL
from planner.sim import Simulator
from tests.sim_helpers import (
    VirtualTimer,
    async_client,
    client,
    plain_request,
    plan_request,
    stream_text,
)
from tests.sim_helpers import fault_headers as faults

T = TypeVar("T")
SPEED = 200.0
LONG_STALL_MS = 3_600_000  # 18 s of silence at SPEED, against read timeouts below 1 s


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(speed=SPEED, model=PLANNING_MODEL) as running:
        yield running


@pytest.fixture(scope="module")
def virtual() -> Iterator[tuple[Simulator, VirtualTimer]]:
    """A simulator on a virtual clock that jumps to each wake-up (one request at a time)."""
    timer = VirtualTimer()
    with Simulator(speed=SPEED, model=PLANNING_MODEL, timer=timer) as running, timer.autojump():
        yield running, timer


def waits_of(timer: VirtualTimer, run: Callable[[], T]) -> tuple[list[float], T]:
    """What `run()` returns, and the virtual times (from its start) the simulator woke at."""
    started, before = timer.now(), len(timer.wakes)
    result = run()
    return [at - started for _, at in timer.wakes[before:]], result


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
    headers = faults({"type": "stall", "at_fraction": 0.5, "stall_ms": LONG_STALL_MS})
    sdk = client(sim.base_url, timeout=anthropic.Timeout(10.0, read=0.3))
    received: list[str] = []
    with pytest.raises(httpx2.ReadTimeout):  # noqa: SIM117
        with sdk.messages.stream(**plain_request(), extra_headers=headers) as stream:
            received.extend(stream.text_stream)
    assert received


def test_stall_is_survived_by_a_patient_client(virtual: tuple[Simulator, VirtualTimer]) -> None:
    sim, timer = virtual
    expected = full_text(sim, plain_request())
    headers = faults({"type": "stall", "at_fraction": 0.5, "stall_ms": 20_000})
    sdk = client(sim.base_url)
    waits, (text, message) = waits_of(
        timer, lambda: stream_text(sdk, plain_request(), extra_headers=headers)
    )
    assert text == expected and message.stop_reason == "end_turn"
    gaps = [later - earlier for earlier, later in zip([0.0, *waits], waits, strict=False)]
    assert max(gaps) >= 20 / SPEED  # one silence of the stall's length


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


def retry_afters(sdk_options: dict) -> tuple[anthropic.Anthropic, list[tuple[int, str | None]]]:
    """An SDK whose every response's status and retry-after-ms header is recorded."""
    seen: list[tuple[int, str | None]] = []

    def record(response: httpx2.Response) -> None:
        seen.append((response.status_code, response.headers.get("retry-after-ms")))

    http = httpx2.Client(event_hooks={"response": [record]})
    return anthropic.Anthropic(api_key="x", http_client=http, **sdk_options), seen


def test_sdk_retries_a_529_given_retry_after_in_real_time(sim: Simulator) -> None:
    spec = faults(
        {"type": "http_error", "status": 529, "retry_after_ms": 60_000, "on_requests": [1, 2]}
    )
    sdk, seen = retry_afters({"base_url": sim.base_url, "max_retries": 2})
    text, message = stream_text(sdk, plain_request(), extra_headers=spec)
    assert message.stop_reason == "end_turn" and text
    # 60 s at speed 200: the SDK is told to wait 300 ms before each of its two retries
    assert seen == [(529, "300"), (529, "300"), (200, None)]


def test_latency_delays_the_first_token(virtual: tuple[Simulator, VirtualTimer]) -> None:
    sim, timer = virtual
    headers = faults({"type": "latency", "latency_ms": 100_000})
    sdk = client(sim.base_url)
    waits, (text, _) = waits_of(
        timer, lambda: stream_text(sdk, plain_request(), extra_headers=headers)
    )
    assert text == full_text(sim, plain_request())
    assert waits[0] >= 100 / SPEED  # the first token's wait holds the whole latency


def test_bandwidth_caps_the_token_rate(virtual: tuple[Simulator, VirtualTimer]) -> None:
    sim, timer = virtual
    request = plain_request(max_tokens=200)
    headers = faults({"type": "bandwidth", "tokens_per_s": 4})
    sdk = client(sim.base_url)
    waits, (_, message) = waits_of(timer, lambda: stream_text(sdk, request, extra_headers=headers))
    # every token after the first delta waits for the capped rate (jitter is at most 35%)
    capped_s = (message.usage.output_tokens - 5) / 4 / SPEED
    assert waits[-1] - waits[0] >= 0.65 * capped_s


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
    # far longer than the read timeout and the client's backlog of ten other streams
    ({"type": "stall", "stall_ms": LONG_STALL_MS}, httpx2.ReadTimeout, None),
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


def test_async_sdk_retries_after_an_http_error(sim: Simulator) -> None:
    spec = {"type": "http_error", "status": 529, "retry_after_s": 40, "on_requests": [1]}
    before = sim.stats()["statuses"].get("529", 0)

    async def run() -> str:
        sdk = async_client(sim.base_url, max_retries=1)
        async with sdk.messages.stream(**plain_request(), extra_headers=faults(spec)) as stream:
            return str((await stream.get_final_message()).stop_reason)

    assert asyncio.run(run()) == "end_turn"
    assert sim.stats()["statuses"]["529"] == before + 1


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
