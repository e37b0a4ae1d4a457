"""Fencing by lease epoch, on DuckDB and PostgreSQL: a runner whose generation was claimed
by another writes nothing more, events leave only once stored, a cancel reaches the runner
through the database, and the sweep interrupts an expired lease with a stored event.

Recordings are driven by hand (`background=False`, `pump()`), so which write meets the
new epoch is chosen by the test.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from planner.db import (
    Database,
    Generation,
    GenerationChunk,
    GenerationEvent,
    GenerationLease,
    MasterPlanRow,
    utcnow,
)
from planner.events import GenerationComplete, TokensProgress
from planner.store import GenerationStatus, GenerationStore, LeaseLost, Recording, liveness
from planner.store import lease as leases
from tests.conftest import stored_generation


def _recording(db: Database, generation_id: uuid.UUID, **options) -> Recording:  # noqa: ANN003
    store = GenerationStore(db)
    spec = store.load(generation_id).spec
    return store.recording(spec, lease=store.start(generation_id), background=False, **options)


def _count(db: Database, model: type, generation_id: uuid.UUID) -> int:
    return db.read(
        lambda conn: conn.scalar(
            select(func.count()).select_from(model).where(model.generation_id == generation_id)
        )
    )


def _lease_of(db: Database, generation_id: uuid.UUID) -> tuple[int, str | None]:
    """The lease's (epoch, owner)."""
    row = db.read(
        lambda conn: conn.execute(
            select(GenerationLease.epoch, GenerationLease.owner).where(
                GenerationLease.generation_id == generation_id
            )
        ).one()
    )
    return row.epoch, row.owner


def _claim_elsewhere(db: Database, generation_id: uuid.UUID) -> leases.Lease:
    return db.transaction(
        lambda conn: leases.take(conn, generation_id, ttl_s=30, now=utcnow(), owner="other")
    )


def test_every_claim_takes_a_new_epoch(db: Database) -> None:
    gid = stored_generation(db)
    first = GenerationStore(db).start(gid)
    second = _claim_elsewhere(db, gid)
    assert (first.epoch, second.epoch) == (1, 2)


def test_a_runner_that_lost_its_lease_stops_at_its_next_write_and_writes_nothing_more(
    db: Database,
) -> None:
    gid = stored_generation(db)
    published = []
    runner = _recording(db, gid, publish=published.append)
    runner.add_chunk(attempt=1, stage="discovery", char_offset=0, chars=5, t_ms=1)
    runner.emit(TokensProgress(tokens_received=1))
    assert runner.pump()
    assert [m.seq for m in published] == [1]

    _claim_elsewhere(db, gid)  # resumed elsewhere while this runner was paused
    runner.add_chunk(attempt=1, stage="discovery", char_offset=5, chars=5, t_ms=2)
    runner.emit(TokensProgress(tokens_received=2))
    assert not runner.pump()
    assert isinstance(runner.lost, LeaseLost)
    with pytest.raises(LeaseLost, match="taken by another claim"):
        runner.add_chunk(attempt=1, stage="discovery", char_offset=10, chars=5, t_ms=3)
    with pytest.raises(LeaseLost):
        runner.emit(TokensProgress(tokens_received=3))

    def save_plan(conn) -> None:  # noqa: ANN001
        raise AssertionError("a fenced runner must never write its plan")

    with pytest.raises(LeaseLost):
        runner.close(write=save_plan, status=GenerationStatus.COMPLETED)
    assert _count(db, GenerationChunk, gid) == 1
    assert _count(db, GenerationEvent, gid) == 1
    assert _count(db, MasterPlanRow, gid) == 0
    assert [m.seq for m in published] == [1]  # the unstored event never reached anyone
    assert GenerationStore(db).load(gid).status == GenerationStatus.RUNNING


def test_the_final_transaction_under_a_lost_lease_leaves_no_plan_and_no_status(
    db: Database,
) -> None:
    gid = stored_generation(db)
    runner = _recording(db, gid)
    runner.emit(TokensProgress(tokens_received=1))
    assert runner.pump()
    _claim_elsewhere(db, gid)
    wrote = []
    with pytest.raises(LeaseLost):
        runner.close(
            write=lambda conn: wrote.append(conn),
            events=(GenerationComplete(masterplan_id="x"),),
            status=GenerationStatus.COMPLETED,
        )
    assert wrote == []
    assert GenerationStore(db).load(gid).status == GenerationStatus.RUNNING
    assert _count(db, GenerationEvent, gid) == 1


def test_events_reach_subscribers_only_after_they_are_stored(db: Database) -> None:
    gid = stored_generation(db)
    published = []
    runner = _recording(db, gid, publish=published.append)
    for n in range(3):
        runner.emit(TokensProgress(tokens_received=n))
    assert published == []
    runner.pump()
    stored = db.read(
        lambda conn: conn.scalars(
            select(GenerationEvent.seq)
            .where(GenerationEvent.generation_id == gid)
            .order_by(GenerationEvent.seq)
        ).all()
    )
    assert [m.seq for m in published] == stored == [1, 2, 3]


def test_a_cancel_asked_from_anywhere_reaches_the_runner_at_its_next_write(
    db: Database,
) -> None:
    gid = stored_generation(db)
    cancelled = []
    runner = _recording(db, gid, on_cancel=lambda: cancelled.append(True))
    runner.emit(TokensProgress(tokens_received=1))
    runner.pump()
    assert cancelled == []
    GenerationStore(db).request_cancel(gid)
    runner.emit(TokensProgress(tokens_received=2))
    runner.pump()
    assert cancelled == [True]


def test_the_sweep_interrupts_an_expired_lease_with_a_stored_event_and_fences_its_runner(
    db: Database,
) -> None:
    gid = stored_generation(db)
    runner = _recording(db, gid)
    runner.emit(TokensProgress(tokens_received=1))
    runner.pump()
    fresh = stored_generation(db)
    GenerationStore(db).start(fresh)

    def expire_on_another_host(conn) -> None:  # noqa: ANN001
        # Only the lease can tell: the owner is on another host.
        conn.execute(update(Generation).where(Generation.id == gid).values(owner_host="other"))
        conn.execute(
            update(GenerationLease)
            .where(GenerationLease.generation_id == gid)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )

    db.transaction(expire_on_another_host)
    published = []
    store = GenerationStore(db)
    liveness.claim(fresh)  # a live runner of this process, its lease fresh
    try:
        assert store.mark_interrupted(publish=published.append) == [gid]
        assert store.mark_interrupted(publish=published.append) == []
    finally:
        liveness.release(fresh)
    assert [(m.generation_id, m.seq, m.name) for m in published] == [
        (gid, 2, "masterplan_generation_interrupted")
    ]
    row = db.read(lambda conn: conn.execute(select(Generation).where(Generation.id == gid)).one())
    assert row.status == GenerationStatus.INTERRUPTED
    assert store.load(fresh).status == GenerationStatus.RUNNING
    runner.emit(TokensProgress(tokens_received=2))  # the paused runner wakes up
    assert not runner.pump() and runner.lost is not None
    _, resume, lease = store.reopen(gid)
    assert resume.positions.next_event_seq == 3  # the seq clients saw goes on
    assert lease.epoch == 3  # runner 1, the sweep 2, the resume 3


def test_a_hand_off_that_meets_a_finished_generation_leaves_its_runners_lease_alone(
    db: Database,
) -> None:
    """The runner finished between the hand-off's (or the sweep's) read and its fence: the
    generation stays completed and its lease still names the runner that finished it."""
    gid = stored_generation(db)
    store = GenerationStore(db)
    finished_by = store.start(gid)
    db.transaction(
        lambda conn: conn.execute(
            update(Generation)
            .where(Generation.id == gid)
            .values(status=GenerationStatus.COMPLETED, finished_at=utcnow())
        )
    )
    before = _lease_of(db, gid)
    published = []
    assert store.hand_off(gid, publish=published.append) is False
    after = _lease_of(db, gid)
    assert after == before == (finished_by.epoch, leases.this_runner())
    assert published == [] and _count(db, GenerationEvent, gid) == 0
    assert store.load(gid).status == GenerationStatus.COMPLETED
