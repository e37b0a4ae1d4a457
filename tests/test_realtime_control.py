"""Socket.IO resume_generation and cancel_generation: owner only (unknown and foreign ids
refused alike), a resume of a generation that died before its first write announces its
start (issue 17.9), a cancel stops it, and what is not resumable is refused clearly."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from planner.db import Database
from planner.events import EventBus
from planner.plan import GenerationRequest, GenerationService
from planner.realtime import RealtimeHandle, start_in_thread
from planner.store import GenerationStatus, GenerationStore
from tests.durable_helpers import status_of, stored_events
from tests.realtime_support import Client, connected, make_user

pytestmark = pytest.mark.anyio


@pytest.fixture
def service(home_db: Database) -> Iterator[GenerationService]:
    made = GenerationService(home_db, bus=EventBus())
    yield made
    made.shutdown(cancel=True)


@pytest.fixture
def endpoint(home_db: Database, service: GenerationService) -> Iterator[RealtimeHandle]:
    handle = start_in_thread("127.0.0.1", 0, db=home_db, service=service, bus=service.bus)
    yield handle
    handle.stop()


def died_before_its_first_write(db: Database, user_id: uuid.UUID) -> uuid.UUID:
    """A generation whose process was killed right after creating its row."""
    return (
        GenerationStore(db)
        .create(
            user_id=user_id,
            description="A seed swap for allotment holders",
            strategy="resume",
            fault_spec="none",
            model="claude-sonnet-5-5",
            seed=1,
            speed=0,
            status=GenerationStatus.INTERRUPTED,
        )
        .generation_id
    )


async def test_the_owner_resumes_a_generation_that_died_before_writing_and_it_starts_properly(
    home_db: Database, endpoint: RealtimeHandle, clients: list[Client]
) -> None:
    ann, ann_token = make_user(home_db, "ann")
    _, ben_token = make_user(home_db, "ben")
    gid = died_before_its_first_write(home_db, ann.id)
    ben = await connected(clients, endpoint, ben_token)
    refused = await ben.call("resume_generation", {"generation_id": str(gid)})
    unknown = await ben.call("resume_generation", {"generation_id": str(uuid.uuid4())})
    assert refused["error"]["code"] == unknown["error"]["code"] == "not_found"
    client = await connected(clients, endpoint, ann_token)
    assert await client.call("resume_generation", {"generation_id": str(gid)}) == {
        "generation_id": str(gid),
        "resumed": True,
    }
    await client.wait_until(
        lambda: any(
            e.get("name") == "masterplan_generation_complete" for e in client.generation_events(gid)
        ),
        timeout_s=60,
        what="the resumed generation to complete",
    )
    names = [name for _, name in stored_events(home_db, gid)]
    assert names[:2] == ["masterplan_generation_start", "masterplan_generation_resumed"]
    again = await client.call("resume_generation", {"generation_id": str(gid)})
    assert again["error"]["code"] == "conflict"
    assert "only interrupted generations can be resumed" in again["error"]["message"]


async def test_the_owner_cancels_a_running_generation_and_nobody_else_can(
    home_db: Database,
    endpoint: RealtimeHandle,
    service: GenerationService,
    clients: list[Client],
) -> None:
    ann, ann_token = make_user(home_db, "ann")
    _, ben_token = make_user(home_db, "ben")
    gid = service.start(GenerationRequest("A repair café rota", ann.id, speed=1))
    ben = await connected(clients, endpoint, ben_token)
    refused = await ben.call("cancel_generation", {"generation_id": str(gid)})
    assert refused["error"]["code"] == "not_found"
    client = await connected(clients, endpoint, ann_token)
    assert await client.call("cancel_generation", {"generation_id": str(gid)}) == {
        "generation_id": str(gid),
        "cancelling": True,
    }
    outcome = service.wait(gid, timeout=60)
    assert (outcome.status, outcome.error) == ("failed", "cancelled before it finished")
    assert status_of(home_db, gid) == "failed"
    late = await client.call("cancel_generation", {"generation_id": str(gid)})
    assert late["error"]["code"] == "conflict"
