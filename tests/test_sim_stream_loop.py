"""The stream loop without a socket: it sends a reply on its schedule, asks every fired
fault before each event, and lets the earliest ending win, on the simulator's own clock."""

from __future__ import annotations

import asyncio

import pytest

from planner.sim.cache import InputUsage
from planner.sim.faults import Cutoff, Eof, Reset, SseError, Stall
from planner.sim.reply import Reply
from planner.sim.responses import StreamWriter, send_events
from planner.sim.timing import Deadline, SimClock
from planner.sim.toxic import Fault

DELTAS = [f"piece {n:02d} " for n in range(20)]  # 9 characters each
DUE_S = [1.0 + n * 0.5 for n in range(20)]  # simulated seconds after arrival
FINISH_S = 11.0


class SteppingTimer:
    """Virtual time for one task: a sleep moves time on by exactly its length."""

    def __init__(self) -> None:
        self.now_s = 0.0

    def now(self) -> float:
        return self.now_s

    async def sleep(self, seconds: float) -> None:
        self.now_s += seconds
        await asyncio.sleep(0)


class RecordingBody:
    """Where the stream's bytes go, each write stamped with the virtual time it was made."""

    def __init__(self, timer: SteppingTimer) -> None:
        self.timer = timer
        self.writes: list[tuple[float, bytes]] = []
        self.end: str | None = None

    async def write(self, data: bytes) -> None:
        self.writes.append((self.timer.now(), data))

    async def write_eof(self, data: bytes = b"") -> None:
        self.end = "eof"

    def drop(self) -> None:
        self.end = "cut"

    def text_by(self, at_s: float) -> str:
        """The text of every delta written up to `at_s`."""
        raw = b"".join(data for written_s, data in self.writes if written_s <= at_s)
        return "".join(piece for piece in DELTAS if f'"text":"{piece}"'.encode() in raw)


def run(*faults: Fault, speed: float = 1.0) -> RecordingBody:
    reply = Reply(
        message_id="msg_test",
        model="claude-sonnet-4-5",
        kind="plain",
        deltas=DELTAS,
        delta_tokens=[2] * len(DELTAS),
        due_s=DUE_S,
        finish_s=FINISH_S,
        stop_reason="end_turn",
        stop_sequence=None,
        input_usage=InputUsage(10, 0, 0),
        faults=faults,
    )
    timer = SteppingTimer()
    body = RecordingBody(timer)

    async def main() -> None:
        out = StreamWriter(body, body.drop, Deadline(SimClock(speed, timer)))
        await send_events(reply, out)

    asyncio.run(main())
    return body


def test_without_faults_each_delta_goes_out_when_it_is_due() -> None:
    body = run(speed=2.0)
    assert body.end == "eof"
    for index, due_s in enumerate(DUE_S):
        assert body.text_by(due_s / 2) == "".join(DELTAS[: index + 1])
    assert body.writes[-1][0] == FINISH_S / 2
    assert b"message_stop" in body.writes[-1][1]


def test_a_stall_shifts_every_later_event_by_its_length() -> None:
    body = run(Stall(at_fraction=0.5, stall_ms=30_000))
    halfway = DUE_S[10]
    assert body.text_by(halfway - 0.01) == "".join(DELTAS[:10])
    assert body.text_by(halfway + 29.9) == "".join(DELTAS[:10]), "nothing during the stall"
    assert body.text_by(halfway + 30) == "".join(DELTAS[:11])
    assert body.end == "eof" and body.writes[-1][0] == FINISH_S + 30


def test_two_stalls_each_hold_once() -> None:
    body = run(Stall(at_fraction=0.25, stall_ms=1_000), Stall(at_fraction=0.75, stall_ms=2_000))
    assert body.writes[-1][0] == FINISH_S + 3


@pytest.mark.parametrize("speed", [1.0, 10.0])
def test_a_cutoff_cuts_at_its_simulated_second_at_any_speed(speed: float) -> None:
    body = run(Cutoff(after_s=4.2), speed=speed)
    assert body.end == "cut"
    assert body.writes[-1][0] <= 4.2 / speed
    assert body.text_by(FINISH_S) == "".join(DELTAS[:7])  # due at 1.0, 1.5, ... 4.0


def test_a_stall_counts_towards_a_cutoff() -> None:
    body = run(Stall(at_fraction=0.1, stall_ms=3_000), Cutoff(after_s=4.2))
    assert body.end == "cut"
    assert body.text_by(FINISH_S) == "".join(DELTAS[:2])  # then 3 s of silence, then the cut


def test_a_reset_after_seconds_cuts_then_and_not_at_the_next_event() -> None:
    body = run(Reset(after_s=2.2))
    assert body.end == "cut"
    assert body.text_by(FINISH_S) == "".join(DELTAS[:3])


def test_an_sse_error_is_the_last_thing_sent() -> None:
    body = run(SseError(at_fraction=0.5, error_type="api_error"))
    assert body.end == "eof"
    assert body.text_by(FINISH_S) == "".join(DELTAS[:10])
    assert body.writes[-1][1].startswith(b"event: error")


def test_an_eof_ends_without_message_stop() -> None:
    body = run(Eof(at_fraction=0.5))
    assert body.end == "eof"
    assert b"message_stop" not in b"".join(data for _, data in body.writes)


def test_the_earliest_ending_wins_and_a_tie_goes_to_the_first_in_the_spec() -> None:
    late_eof_first = run(Eof(at_fraction=0.8), Reset(at_fraction=0.3))
    assert late_eof_first.end == "cut"
    assert late_eof_first.text_by(FINISH_S) == "".join(DELTAS[:6])
    tie = run(SseError(at_fraction=0.5), Reset(at_fraction=0.5))
    assert tie.end == "eof" and tie.writes[-1][1].startswith(b"event: error")
    cut_first = run(Reset(at_fraction=0.5), SseError(at_fraction=0.5))
    assert cut_first.end == "cut"
