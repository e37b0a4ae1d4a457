"""Real generations followed over Socket.IO: the full event sequence, and across nodes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from planner.db import Database
from planner.plan import GenerationService
from planner.realtime import RealtimeHandle, start_in_thread
from tests.realtime_support import (
    DESCRIPTION,
    Client,
    Follower,
    assert_a_recovered_generation,
    follow_to_the_end,
    make_user,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def endpoint(home_db: Database, service: GenerationService) -> Iterator[RealtimeHandle]:
    # The default bus, as the dashboard's: the service publishes there too.
    handle = start_in_thread("127.0.0.1", 0, db=home_db, service=service)
    yield handle
    handle.stop()


async def test_a_generation_started_over_socketio_streams_every_event_in_order(
    home_db: Database, endpoint: RealtimeHandle, clients: list[Client]
) -> None:
    _, token = make_user(home_db, "alice")
    client = Client()
    clients.append(client)
    await client.connect(endpoint.url, token)

    started = await client.call(
        "start_generation", {"description": DESCRIPTION, "faults": "drop-at-90", "speed": 0}
    )
    follower = Follower(client, started["generation_id"])
    events = await follow_to_the_end(follower)
    stored = await client.call(
        "request_catch_up",
        {"generation_id": started["generation_id"], "after_seq": 0, "limit": 5000},
    )

    assert_a_recovered_generation(events)
    assert stored["events"] == events, "what went out live is exactly what was stored"
    assert stored["status"] == "completed"
