"""Each fault's behaviour, asked through its hooks on plain objects: one test per fault.

The end-to-end symptoms with the real SDK are in test_sim_faults; here each class is
shown to answer exactly the questions it has an effect on, and nothing else.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

import pytest

from planner.sim import Fault, Simulator, parse_fault_spec, wire
from planner.sim.faults import (
    REGISTRY,
    Bandwidth,
    Corrupt,
    Cutoff,
    Eof,
    HttpError,
    Latency,
    Reset,
    SseError,
    Stall,
)
from planner.sim.timing import SimClock
from planner.sim.toxic import Progress
from tests.sim_helpers import client, fault_headers, plain_request, stream_text

HALF = Progress(chars_sent=50, total_chars=100, bytes_sent=900, elapsed_s=2.0)
START = Progress(chars_sent=0, total_chars=100, bytes_sent=300, elapsed_s=1.0)


class RecordingStream:
    """A StreamOutput that remembers what the fault did."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.ended_by: str | None = None

    async def send(self, data: bytes) -> None:
        self.sent.append(data)

    async def end(self) -> None:
        self.ended_by = "end"

    async def cut(self) -> None:
        self.ended_by = "cut"


class RecordingMessage:
    """A MessageOutput that remembers what the fault did."""

    def __init__(self) -> None:
        self.outcome: tuple[str, int | None] | None = None

    def reject(self, status: int) -> None:
        self.outcome = ("reject", status)

    async def cut(self, after_bytes: int | None = None) -> None:
        self.outcome = ("cut", after_bytes)


def ended_stream(fault: Fault) -> RecordingStream:
    out = RecordingStream()
    asyncio.run(fault.end_stream(out))
    return out


def ended_message(fault: Fault) -> tuple[str, int | None] | None:
    out = RecordingMessage()
    asyncio.run(fault.end_message(out))
    return out.outcome


def answers_only(fault: Fault, *hooks: str) -> None:
    """Every hook not named keeps the base class's no-effect answer."""
    neutral = Fault()
    questions = {
        "rejection": lambda f: f.rejection(SimClock(1)),
        "shape_text": lambda f: f.shape_text('{"a": [1]}'),
        "pace": lambda f: f.pace(130.0),
        "first_token_delay_s": lambda f: f.first_token_delay_s(random.Random(1)),
        "stream_hold_s": lambda f: f.stream_hold_s(HALF),
        "stream_ending": lambda f: f.stream_ending(HALF, 2.0),
        "message_hold_s": lambda f: f.message_hold_s(),
        "message_ending": lambda f: f.message_ending(10.0),
    }
    for name, ask in questions.items():
        if name not in hooks:
            assert ask(fault) == ask(neutral), f"{fault.type} answers {name}"


def test_reset_cuts_the_connection_at_its_point() -> None:
    assert Reset(at_fraction=0.5).stream_ending(HALF, 2.5) == 2.5
    assert Reset(at_fraction=0.6).stream_ending(HALF, 2.5) is None
    assert Reset().stream_ending(HALF, 2.5) == 2.5, "half way when no point is given"
    assert Reset(after_bytes=900).stream_ending(HALF, 2.5) == 2.5
    assert Reset(after_bytes=901).stream_ending(HALF, 2.5) is None
    assert Reset(after_s=1.5).stream_ending(HALF, 2.5) == 1.5, "at after_s, not the next event"
    assert Reset(after_s=2.5).stream_ending(HALF, 2.5) is None
    assert ended_stream(Reset()).ended_by == "cut"
    assert Reset(at_fraction=0.4).message_ending(10.0) == 4.0
    assert Reset(after_s=3.0).message_ending(10.0) == 3.0
    assert Reset(after_bytes=200).message_ending(10.0) == 10.0
    assert ended_message(Reset(after_bytes=200)) == ("cut", 200)
    assert ended_message(Reset()) == ("cut", None)
    answers_only(Reset(), "stream_ending", "message_ending")


def test_sse_error_sends_an_error_event_then_ends_or_is_an_http_error() -> None:
    fault = SseError(at_fraction=0.5, error_type="api_error")
    assert fault.stream_ending(HALF, 2.5) == 2.5
    assert fault.stream_ending(START, 1.0) is None
    out = ended_stream(fault)
    assert out.sent == [wire.error_event("api_error")] and out.ended_by == "end"
    assert fault.message_ending(10.0) == 5.0
    assert ended_message(fault) == ("reject", 500)
    assert ended_message(SseError(error_type="overloaded_error")) == ("reject", 529)
    answers_only(fault, "stream_ending", "message_ending")


def test_eof_ends_the_stream_cleanly_and_leaves_a_whole_message_alone() -> None:
    assert Eof(at_fraction=0.5).stream_ending(HALF, 2.5) == 2.5
    assert Eof(at_fraction=0.7).stream_ending(HALF, 2.5) is None
    out = ended_stream(Eof())
    assert out.sent == [] and out.ended_by == "end"
    answers_only(Eof(at_fraction=0.5), "stream_ending")


def test_stall_holds_the_stream_once_it_is_reached_and_delays_a_whole_message() -> None:
    stall = Stall(at_fraction=0.5, stall_ms=120_000)
    assert stall.stream_hold_s(START) == 0
    assert stall.stream_hold_s(HALF) == 120.0
    assert stall.message_hold_s() == 120.0
    answers_only(stall, "stream_hold_s", "message_hold_s")


def test_http_error_rejects_the_request_with_retry_headers_in_real_time() -> None:
    fault = HttpError(status=429, retry_after_s=20, retry_after_ms=60_000)
    rejection = fault.rejection(SimClock(200))
    assert rejection is not None and rejection.status == 429
    assert rejection.headers == {
        "x-should-retry": "true",
        "retry-after": "0.1",
        "retry-after-ms": "300",
    }
    unlimited = fault.rejection(SimClock(0))
    assert unlimited is not None
    assert unlimited.headers["retry-after"] == "0.001"
    assert unlimited.headers["retry-after-ms"] == "1"
    assert HttpError().rejection(SimClock(1)).headers == {"x-should-retry": "true"}
    answers_only(fault, "rejection")


def test_latency_delays_the_first_token_by_a_seeded_amount() -> None:
    fault = Latency(latency_ms=5_000, jitter_ms=2_000)
    delays = [fault.first_token_delay_s(random.Random(seed)) for seed in range(50)]
    assert all(5.0 <= delay <= 7.0 for delay in delays) and len(set(delays)) > 1
    assert fault.first_token_delay_s(random.Random(3)) == delays[3]
    assert Latency(latency_ms=250).first_token_delay_s(random.Random(0)) == 0.25
    answers_only(fault, "first_token_delay_s")


def test_bandwidth_caps_the_pace() -> None:
    assert Bandwidth(tokens_per_s=30).pace(130.0) == 30
    assert Bandwidth(tokens_per_s=300).pace(130.0) == 130
    answers_only(Bandwidth(tokens_per_s=30), "pace")


def test_cutoff_drops_any_connection_still_open_after_its_seconds() -> None:
    fault = Cutoff(after_s=4)
    assert fault.stream_ending(HALF, 3.9) is None
    assert fault.stream_ending(HALF, 4.2) == 4, "at after_s, not at the next event"
    assert ended_stream(fault).ended_by == "cut"
    assert fault.message_ending(10.0) == 4
    assert fault.message_ending(3.0) is None, "a message done before then is not touched"
    assert ended_message(fault) == ("cut", None)
    answers_only(fault, "stream_ending", "message_ending")


def test_corrupt_damages_the_text() -> None:
    assert Corrupt(drop_brackets=2, prose=False).shape_text('{"a": [1]}') == '{"a": [1'
    wrapped = Corrupt().shape_text('{"a": 1}')
    assert wrapped.startswith("Here is") and '{"a": 1' in wrapped and '{"a": 1}' not in wrapped
    assert Corrupt(drop_brackets=0, prose=False).shape_text("{}") == "{}"
    answers_only(Corrupt(), "shape_text")


@pytest.fixture
def halve() -> Iterator[type[Fault]]:
    """A fault written for this test (defined here, so it is registered only meanwhile)."""

    @dataclass(frozen=True)
    class Halve(Fault):
        """Only the first half of the answer is sent."""

        type: ClassVar[str] = "test_halve"

        def shape_text(self, text: str) -> str:
            return text[: len(text) // 2]

    yield Halve
    del REGISTRY[Halve.type]


def test_adding_a_fault_is_one_class(halve: type[Fault]) -> None:
    assert REGISTRY["test_halve"] is halve
    assert parse_fault_spec('[{"type": "test_halve"}]').faults == (halve(),)
    with Simulator(speed=0) as sim:
        full, _ = stream_text(client(sim.base_url), plain_request())
        half, message = stream_text(
            client(sim.base_url),
            plain_request(),
            extra_headers=fault_headers({"type": "test_halve"}),
        )
        assert sim.stats()["faults_fired"] == {"test_halve": 1}
    assert half == full[: len(full) // 2] and message.stop_reason == "end_turn"


def test_two_faults_cannot_share_a_type() -> None:
    with pytest.raises(TypeError, match="already Reset"):

        class AnotherReset(Fault):
            type: ClassVar[str] = "reset"
