"""Leases: who may write a generation now (fencing by epoch).

Every claim of a generation (a first run, a resume, a job retried after its worker died)
takes a new epoch in `generation_leases`; the sweep that interrupts a generation takes one
too. Every write of a runner starts by renewing its own lease, conditional on the epoch
it claimed, in the same transaction (`renew`, or the lease clause of the one-statement
PostgreSQL batch): a runner whose epoch is no longer current writes nothing and gets
`LeaseLost`. So a paused runner that wakes after its generation was resumed elsewhere
stops at its next write and can never save a second plan.

The renewal also answers whether a cancel was asked (`cancel_requested`, set by
`request_cancel` from any process): the runner stops at its next write or heartbeat.
On PostgreSQL the renewing UPDATE takes the lease row's lock, so a claim waits for a
write in flight and the write after it sees the new epoch; on DuckDB one process at a time
holds the file and conflicting transactions fail and are retried.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, insert, select, update

from planner.db import GenerationLease
from planner.errors import ConflictError


class LeaseLost(ConflictError):
    """This runner's lease on the generation was taken by another claim: it must stop and
    write nothing more (another runner, or the sweep, owns the generation now)."""


@dataclass(frozen=True)
class Lease:
    """A runner's claim on one generation: writes are accepted only under `epoch`."""

    generation_id: uuid.UUID
    epoch: int
    ttl_s: float

    def expiry(self, now: datetime) -> datetime:
        return now + timedelta(seconds=self.ttl_s)

    def lost(self) -> LeaseLost:
        return LeaseLost(
            f"generation {self.generation_id}: lease {self.epoch} was taken by another "
            "claim; this runner stops and writes nothing more"
        )


def this_runner() -> str:
    """The owner a lease names: host and process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def create(conn: Connection, generation_id: uuid.UUID, *, job_id: int | None = None) -> None:
    """The lease row of a new generation, unclaimed (epoch 0)."""
    conn.execute(
        insert(GenerationLease),
        [{"generation_id": generation_id, "epoch": 0, "cancel_requested": False, "job_id": job_id}],
    )


def take(
    conn: Connection,
    generation_id: uuid.UUID,
    *,
    ttl_s: float,
    now: datetime,
    owner: str | None = None,
    job_id: int | None = None,
) -> Lease:
    """Claim the generation under a new epoch (in `conn`'s transaction); `job_id`: the
    job this runner runs it in."""
    values: dict[str, object] = {
        "owner": owner or this_runner(),
        "heartbeat_at": now,
        "expires_at": now + timedelta(seconds=ttl_s),
    }
    if job_id is not None:
        values["job_id"] = job_id
    taken = conn.execute(
        update(GenerationLease)
        .where(GenerationLease.generation_id == generation_id)
        .values(epoch=GenerationLease.epoch + 1, **values)
    ).rowcount
    if taken != 1:  # a generation stored before leases existed
        conn.execute(
            insert(GenerationLease),
            [{"generation_id": generation_id, "epoch": 1, "cancel_requested": False, **values}],
        )
    epoch = conn.scalar(
        select(GenerationLease.epoch).where(GenerationLease.generation_id == generation_id)
    )
    return Lease(generation_id, int(epoch), ttl_s)


def fence(conn: Connection, generation_id: uuid.UUID, epoch: int, *, owner: str) -> bool:
    """Take a new epoch only if `epoch` is still current (the sweep: whoever renewed
    meanwhile is alive). True if taken; the lease then has no expiry (no runner)."""
    return (
        conn.execute(
            update(GenerationLease)
            .where(GenerationLease.generation_id == generation_id)
            .where(GenerationLease.epoch == epoch)
            .values(epoch=epoch + 1, owner=owner, expires_at=None)
        ).rowcount
        == 1
    )


RENEW_DUCKDB = (
    "UPDATE generation_leases SET heartbeat_at = $1, expires_at = $2 "
    "WHERE generation_id = $3::UUID AND epoch = $4 RETURNING cancel_requested"
)
RENEW_POSTGRESQL = (
    "UPDATE generation_leases SET heartbeat_at = %s, expires_at = %s "
    "WHERE generation_id = %s::uuid AND epoch = %s RETURNING cancel_requested"
)


def renew(conn: Connection, lease: Lease, now: datetime) -> bool:
    """Renew the lease in `conn`'s transaction; returns whether a cancel was asked.

    LeaseLost if the epoch is no longer current (the caller rolls back).
    """
    sql = RENEW_DUCKDB if conn.dialect.name == "duckdb" else RENEW_POSTGRESQL
    row = conn.exec_driver_sql(
        sql, (now, lease.expiry(now), str(lease.generation_id), lease.epoch)
    ).first()
    if row is None:
        raise lease.lost()
    return bool(row[0])


def request_cancel(conn: Connection, generation_id: uuid.UUID, cancel: bool = True) -> None:
    """Ask whichever runner holds the generation to stop (read at its next write)."""
    conn.execute(
        update(GenerationLease)
        .where(GenerationLease.generation_id == generation_id)
        .values(cancel_requested=cancel)
    )


def set_job(conn: Connection, generation_id: uuid.UUID, job_id: int) -> None:
    """The Procrastinate job that runs the generation (for an abort)."""
    conn.execute(
        update(GenerationLease)
        .where(GenerationLease.generation_id == generation_id)
        .values(job_id=job_id)
    )
