"""Shared helpers for the simulator tests: real SDK clients, planner's own requests, and a
virtual timer so that pace is read off the simulator's clock instead of the wall clock."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import anthropic

from planner.plan.prompts import discovery_request, masterplan_request
from planner.plan.schema import Discovery
from planner.protocol import FAULTS_HEADER, RUN_HEADER

MODEL = "claude-sonnet-4-6"  # a Sonnet that thinks only when asked; refuses a prefill
PREFILL_MODEL = "claude-haiku-4-5"  # the active model that accepts an assistant prefill
DESCRIPTION = "A marketplace for renting camping gear with bookings, payments and reviews"
# How often the autojump pump re-reads a readiness the timer is not told about (such as
# the simulator's active streams): it sets how soon time moves, never whether a test passes.
_POLL_S = 0.002
_PUMP_STUCK_S = 60.0  # no progress for this long: the test fails instead of hanging


def client(base_url: str, **kwargs: Any) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key="x", base_url=base_url, **{"max_retries": 0, **kwargs})


def async_client(base_url: str, **kwargs: Any) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(api_key="x", base_url=base_url, **{"max_retries": 0, **kwargs})


def plain_request(
    text: str = "Explain retries for camping gear uploads", **extra: Any
) -> dict[str, Any]:
    return {
        "model": MODEL,
        "max_tokens": 4000,
        "messages": [{"role": "user", "content": text}],
        **extra,
    }


def plan_request(task_count: int = 20, model: str = MODEL) -> dict[str, Any]:
    found = Discovery.model_validate(
        {
            "domain": "camping gear rental",
            "bounded_contexts": [
                {"name": "Rentals", "aggregates": ["Booking", "GearItem"]},
                {"name": "Payments", "aggregates": ["Payment"]},
            ],
            "services": [{"name": "BookingService"}],
        }
    )
    return masterplan_request(DESCRIPTION, found, task_count, model)


def discovery(model: str = MODEL) -> dict[str, Any]:
    return discovery_request(DESCRIPTION, model)


def stream_text(
    sdk: anthropic.Anthropic, request: dict[str, Any], **kwargs: Any
) -> tuple[str, Any]:
    """The streamed text and the final message (stop_reason None when it never came)."""
    with sdk.messages.stream(**request, **kwargs) as stream:
        text = "".join(stream.text_stream)
        return text, stream.current_message_snapshot


def fault_headers(*items: dict[str, Any], run: str | None = None) -> dict[str, str]:
    """Headers giving one request these faults, under its own run key unless told."""
    return {FAULTS_HEADER: json.dumps(list(items)), RUN_HEADER: run or uuid.uuid4().hex}


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class VirtualTimer:
    """Virtual real time for a `Simulator(timer=...)`: a sleep lasts until time moves past it.

    Time moves only when told: `advance(seconds)`, or inside `autojump()` whenever
    `ready(sleepers)` says everything the test waits for is asleep, straight to the
    earliest wake-up (plus `late_s`, as a busy event loop wakes sleepers late). `wakes`
    records (task id, virtual time) of every wake-up, so a test reads the pace a stream
    kept off the simulator's own clock, whatever the machine's load.
    """

    def __init__(self) -> None:
        self._now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.AbstractEventLoop, Any, int]] = []
        self._order = itertools.count()
        self._changed = threading.Condition()
        self.wakes: list[tuple[int, float]] = []

    def now(self) -> float:
        return self._now

    async def sleep(self, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._changed:
            task = id(asyncio.current_task())
            sleeper = (self._now + seconds, next(self._order), loop, future, task)
            heapq.heappush(self._sleepers, sleeper)
            self._changed.notify_all()
        try:
            await future
        finally:
            with self._changed:
                if sleeper in self._sleepers:  # cancelled before its time came
                    self._sleepers.remove(sleeper)
                    heapq.heapify(self._sleepers)

    @property
    def sleeping(self) -> int:
        with self._changed:
            return len(self._sleepers)

    def advance(self, seconds: float) -> None:
        with self._changed:
            self._move_to(self._now + seconds)

    def _move_to(self, when: float) -> None:
        self._now = max(self._now, when)
        while self._sleepers and self._sleepers[0][0] <= self._now:
            _, _, loop, future, task = heapq.heappop(self._sleepers)
            self.wakes.append((task, self._now))
            loop.call_soon_threadsafe(_resolve, future)

    @contextlib.contextmanager
    def autojump(
        self, ready: Callable[[int], bool] = lambda sleepers: sleepers > 0, late_s: float = 0.0
    ) -> Iterator[VirtualTimer]:
        """Move time on by itself while the block runs (default: whenever anything sleeps)."""
        stop = threading.Event()
        stuck: list[str] = []

        def can_move() -> bool:
            return bool(self._sleepers) and ready(len(self._sleepers))

        def pump() -> None:
            moved = time.monotonic()
            with self._changed:
                while not stop.is_set():
                    if can_move():
                        self._move_to(self._sleepers[0][0] + late_s)
                        moved = time.monotonic()
                        continue
                    self._changed.wait(_POLL_S)
                    if self._sleepers and time.monotonic() - moved > _PUMP_STUCK_S:
                        # a failure detector only: a correct simulator never gets here
                        stuck.append(f"{len(self._sleepers)} sleepers never became ready")
                        return

        thread = threading.Thread(target=pump, name="virtual-timer", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            stop.set()
            with self._changed:
                self._changed.notify_all()
            thread.join()
        assert not stuck, stuck[0]
