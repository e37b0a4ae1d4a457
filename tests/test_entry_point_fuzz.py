"""The entry points the fault-spec fuzz tests do not reach, fed arbitrary input (issue
17.6): Socket.IO's `start_generation` (any fault spec, any payload at all) and the
dashboard's Generate form (any custom spec). Each finds only clean, one-line refusals that
judge a spec exactly as the parser does; the CLI and the simulator's admin endpoint are in
test_sim_fault_spec_fuzz.py.

Nothing starts: every request carries a problem besides its spec (a negative speed, an
empty description), and the refusal must still name the spec's own problem, or not, as
the parser decides.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.db import Database
from planner.events import EventBus
from planner.plan import GenerationService
from planner.realtime import RealtimeHandle, start_in_thread
from planner.realtime.limits import EventLimits
from planner.sim import FaultSpecError, parse_fault_spec
from tests.fuzz_support import json_values, one_line, specs
from tests.realtime_support import Client, make_user

T = TypeVar("T")

# Every example is a round trip to a real endpoint: fewer than the parser's 60
ENDPOINT_FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
FORM_FUZZ = settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))


def spec_is_bad(text: str) -> bool:
    try:
        parse_fault_spec(text)
    except FaultSpecError:
        return True
    return False


class LoopThread:
    """An event loop on a thread of its own, so Hypothesis's plain functions can await."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(60)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)
        self.loop.close()


@pytest.fixture
def endpoint(home_db: Database, service: GenerationService) -> Iterator[RealtimeHandle]:
    lifted = EventLimits(per_second=1e6, burst=10**6, user_per_second=1e6, user_burst=10**6)
    handle = start_in_thread(
        "127.0.0.1", 0, db=home_db, service=service, bus=EventBus(), limits=lifted
    )
    yield handle
    handle.stop()


@pytest.fixture
def connection(home_db: Database, endpoint: RealtimeHandle) -> Iterator[tuple[LoopThread, Client]]:
    _, token = make_user(home_db, "fuzz")
    runner = LoopThread()
    client = Client()
    try:
        runner.run(client.connect(endpoint.url, token))
        yield runner, client
    finally:
        runner.run(client.close())
        runner.close()


def test_start_generation_judges_any_fault_spec_as_the_parser_does(
    connection: tuple[LoopThread, Client],
) -> None:
    runner, client = connection

    @ENDPOINT_FUZZ
    @given(specs)
    def start(text: str) -> None:
        request = {"description": "A small shop", "faults": text, "speed": -1}
        reply = runner.run(client.call("start_generation", request))
        error = reply["error"]
        assert error["code"] == "invalid_payload" and one_line(error["message"]), error
        assert "speed -1 is out of range" in error["message"]
        assert ("bad fault spec" in error["message"]) == spec_is_bad(text), error

    start()


def test_start_generation_refuses_any_payload_in_one_line(
    connection: tuple[LoopThread, Client],
) -> None:
    runner, client = connection
    payloads = json_values | st.fixed_dictionaries(
        {"description": json_values, "faults": json_values},
        optional={"strategy": json_values, "speed": json_values},
    )

    @ENDPOINT_FUZZ
    @given(payloads)
    def start(payload: Any) -> None:
        if isinstance(payload, dict) and isinstance(payload.get("description"), str):
            payload = {**payload, "speed": -1}  # nothing may start
        reply = runner.run(client.call("start_generation", payload))
        error = reply["error"]
        assert error["code"] == "invalid_payload" and one_line(error["message"]), error

    start()


def test_the_generate_form_judges_any_custom_spec_as_the_parser_does(home_db: Database) -> None:
    from tests.test_dashboard_apptest import logged_in, texts

    at, _ = logged_in(home_db, "alice")
    at.run()
    at.text_area(key="gen_description").input("   ")  # nothing starts
    at.selectbox(key="gen_faults").select("custom JSON spec…")
    at.run()

    @FORM_FUZZ
    @given(specs)
    def submit(text: str) -> None:
        at.text_area(key="gen_spec").input(text)
        at.button(key="gen_start").click().run()
        assert not at.exception, at.exception
        shown = texts(at)
        if not text.strip():
            assert "Enter a fault spec" in shown
            return
        assert "the project description is empty" in shown
        assert ("bad fault spec" in shown) == spec_is_bad(text)
        assert "following_generation" not in at.session_state

    submit()
