"""The generation service: ids at once, a concurrency limit, cancel, bad input refused."""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import func, select, update

from planner.auth import get_or_create_local_user
from planner.db import Database, Generation, GenerationChunk, GenerationEvent, MasterPlanRow
from planner.events import EventBus, EventMessage
from planner.plan import (
    GenerationRequest,
    GenerationRequestError,
    GenerationService,
    prepare,
    resume_generation,
)
from planner.store import GenerationStore
from planner.store.liveness import SHUTDOWN_REASON
from tests.durable_helpers import wait_for


@pytest.fixture
def user_id(db: Database) -> uuid.UUID:
    prepare(db)
    return get_or_create_local_user(db).id


def test_ten_concurrent_generations_all_complete_with_their_own_records(
    db: Database, user_id: uuid.UUID
) -> None:
    bus = EventBus()
    # One user starting ten: the per-user cap (3 by default) is lifted for this test.
    service = GenerationService(db, max_concurrent=10, bus=bus, max_active_per_user=10)
    running_at_once = []
    handle = bus.subscribe(lambda _: running_at_once.append(len(service.active())))
    descriptions = [
        f"Project {n}: a booking tool for bike repair shop number {n}" for n in range(10)
    ]
    faults = ["none", "drop-at-90"] * 5
    ids = [
        service.start(GenerationRequest(d, user_id, faults=f, speed=0, seed=n))
        for n, (d, f) in enumerate(zip(descriptions, faults, strict=True))
    ]
    outcomes = [service.wait(gid, timeout=240) for gid in ids]
    bus.unsubscribe(handle, wait=True)
    service.shutdown()
    assert [o.status for o in outcomes] == ["completed"] * 10, [o.error for o in outcomes]
    assert [o.generation_id for o in outcomes] == ids
    assert max(running_at_once) > 1
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(MasterPlanRow)) == 10
        for outcome in outcomes:
            seqs = session.scalars(
                select(GenerationEvent.seq)
                .where(GenerationEvent.generation_id == outcome.generation_id)
                .order_by(GenerationEvent.seq)
            ).all()
            assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) > 10
            assert session.get(Generation, outcome.generation_id).status == "completed"


def test_start_returns_at_once_and_cancel_stops_running_and_queued_ones(
    db: Database, user_id: uuid.UUID
) -> None:
    bus = EventBus()
    streaming = threading.Event()

    def watch(message: EventMessage) -> None:
        if message.name == "masterplan_tokens_progress":
            streaming.set()

    handle = bus.subscribe(watch)
    service = GenerationService(db, max_concurrent=1, bus=bus)
    # A real-time plan takes minutes: both calls return long before it could end.
    slow = service.start(GenerationRequest("A slow real-time plan for a library", user_id, speed=1))
    queued = service.start(GenerationRequest("A plan that waits its turn", user_id, speed=1))
    assert service.active() == [slow, queued]
    with db.session() as session:
        assert session.get(Generation, queued).status == "queued"
    assert streaming.wait(60)  # the slow one is streaming, the other still queued
    bus.unsubscribe(handle)
    assert service.cancel(queued) and service.cancel(slow)
    first, second = service.wait(slow, timeout=60), service.wait(queued, timeout=60)
    assert (first.status, first.error) == ("failed", "cancelled before it finished")
    assert (second.status, second.error) == ("failed", "cancelled before it finished")
    assert service.active() == [] and not service.cancel(slow)
    with db.session() as session:
        assert session.get(Generation, slow).status == "failed"
        assert session.scalar(select(func.count()).select_from(MasterPlanRow)) == 0
    service.shutdown()


def test_bad_input_is_refused_at_start_and_nothing_is_stored(
    db: Database, user_id: uuid.UUID
) -> None:
    service = GenerationService(db)
    bad = [
        (GenerationRequest("   ", user_id), "the project description is empty"),
        (GenerationRequest("x" * 20_001, user_id), "the limit is 20,000"),
        (
            GenerationRequest("ok", user_id, strategy="retry-forever"),
            "unknown strategy 'retry-forever'",
        ),
        (GenerationRequest("ok", user_id, faults="meteor"), "unknown fault profile 'meteor'"),
        (GenerationRequest("ok", user_id, faults='[{"type": "reset",'), "not valid JSON"),
        (
            GenerationRequest("ok", user_id, faults='[{"type": "gremlin"}]'),
            "unknown type 'gremlin'",
        ),
        (GenerationRequest("ok", user_id, speed=-3), "speed -3 is out of range"),
        (GenerationRequest("ok", user_id, speed=float("nan")), "speed must be a number"),
        (GenerationRequest("ok", uuid.uuid4()), "no user with id"),
    ]
    for request, message in bad:
        with pytest.raises(GenerationRequestError, match=message):
            service.start(request)
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Generation)) == 0
    service.shutdown()


def test_a_service_stopped_with_hand_off_leaves_its_generations_resumable(
    db: Database, user_id: uuid.UUID
) -> None:
    """`planner serve` stopping (Ctrl-C, SIGTERM) used to cancel the generations it ran:
    they ended failed and could only start again from nothing."""
    service = GenerationService(db, max_concurrent=1, bus=EventBus())
    # A real-time plan takes minutes: the stop must not wait for it.
    slow = service.start(GenerationRequest("A slow real-time plan for a library", user_id, speed=1))
    queued = service.start(GenerationRequest("A plan that waits its turn", user_id, speed=1))
    wait_for(lambda: _chunk_count(db, slow) > 0, what="the first chunks to be stored")
    service.shutdown(hand_off=True)
    assert service.active() == []
    chunks_at_stop = _chunk_count(db, slow)
    assert chunks_at_stop > 0
    for gid in (slow, queued):
        row = GenerationStore(db).load(gid)
        assert row.status == "interrupted" and f"planner resume {gid}" in (row.error or "")
        last = db.read(
            lambda conn, gid=gid: conn.execute(
                select(GenerationEvent.name, GenerationEvent.payload)
                .where(GenerationEvent.generation_id == gid)
                .order_by(GenerationEvent.seq.desc())
                .limit(1)
            ).one()
        )
        assert last.name == "masterplan_generation_interrupted"
        assert last.payload["reason"] == SHUTDOWN_REASON
    assert _chunk_count(db, slow) == chunks_at_stop, "the stopped runner wrote nothing more"
    # What resumes is the checkpoint, not the pace: the rest at full speed.
    db.transaction(
        lambda conn: conn.execute(update(Generation).where(Generation.id == slow).values(speed=0))
    )
    resumed = resume_generation(db, slow)
    assert resumed.status == "completed"
    assert _chunk_count(db, slow) > chunks_at_stop


def _chunk_count(db: Database, generation_id: uuid.UUID) -> int:
    return db.read(
        lambda conn: conn.scalar(
            select(func.count())
            .select_from(GenerationChunk)
            .where(GenerationChunk.generation_id == generation_id)
        )
    )


def test_the_services_own_sweep_leaves_its_queued_and_running_generations_alone(
    db: Database, user_id: uuid.UUID
) -> None:
    """A generation waiting its turn in this process's pool names this process as its
    owner; this process's own sweep once took it for a dead process's and interrupted it
    (and the dashboard's resume then raced the run it had just claimed)."""
    service = GenerationService(db, max_concurrent=1, bus=EventBus())
    running = service.start(GenerationRequest("A real-time plan for a library", user_id, speed=1))
    waiting = service.start(GenerationRequest("A plan that waits its turn", user_id, speed=1))
    wait_for(lambda: _chunk_count(db, running) > 0, what="the first chunks to be stored")
    try:
        assert GenerationStore(db).mark_interrupted(stale_after_s=0) == []
        statuses = {gid: GenerationStore(db).load(gid).status for gid in (running, waiting)}
        assert statuses == {running: "running", waiting: "queued"}
    finally:
        service.shutdown(cancel=True)
    # Once it stopped, nothing here holds them any more: a sweep would see them as any other.
    assert GenerationStore(db).load(waiting).status == "failed"
    from planner.store import running_here

    assert not {running, waiting} & running_here()


def test_held_here_nests_a_resume_inside_a_jobs_run() -> None:
    from planner.store import held_here, running_here

    gid = uuid.uuid4()
    with held_here(gid):
        with held_here(gid):
            assert gid in running_here()
        assert gid in running_here(), "the inner hold's end does not end the outer one"
    assert gid not in running_here()
