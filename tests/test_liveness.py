"""Finding generations whose process died: dead owner on this host, or a stale heartbeat."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import update

from planner.db import Database, Generation, utcnow
from planner.store import GenerationStore, liveness
from tests.conftest import stored_generation


@pytest.fixture
def new_generation(db: Database):  # noqa: ANN201
    def make(*, pid: int | None, host: str | None, heartbeat_age_s: float = 0.0) -> uuid.UUID:
        gid = stored_generation(db)
        with db.engine.begin() as conn:
            conn.execute(
                update(Generation)
                .where(Generation.id == gid)
                .values(
                    owner_pid=pid,
                    owner_host=host,
                    heartbeat_at=utcnow() - timedelta(seconds=heartbeat_age_s),
                )
            )
        return gid

    return make


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_abandoned_generations_are_marked_interrupted_and_live_ones_left_alone(
    db: Database, new_generation
) -> None:  # noqa: ANN001
    here = socket.gethostname()
    dead_here = new_generation(pid=_dead_pid(), host=here)
    stale_elsewhere = new_generation(pid=1, host="another-host", heartbeat_age_s=600)
    fresh_elsewhere = new_generation(pid=1, host="another-host", heartbeat_age_s=5)
    alive_here = new_generation(pid=os.getppid(), host=here)
    mine_not_running = new_generation(pid=os.getpid(), host=here)
    mine_running = new_generation(pid=os.getpid(), host=here)
    liveness.claim(mine_running)
    try:
        marked = GenerationStore(db).mark_interrupted()
        again = GenerationStore(db).mark_interrupted()
    finally:
        liveness.release(mine_running)
    assert again == []
    assert set(marked) == {dead_here, stale_elsewhere, mine_not_running}
    with db.session() as session:
        statuses = {
            gid: session.get(Generation, gid).status
            for gid in (
                dead_here,
                stale_elsewhere,
                fresh_elsewhere,
                alive_here,
                mine_not_running,
                mine_running,
            )
        }
        row = session.get(Generation, dead_here)
        assert (
            row.error
            == f"the process running it stopped; continue with `planner resume {dead_here}`"
        )
    assert statuses == {
        dead_here: "interrupted",
        stale_elsewhere: "interrupted",
        fresh_elsewhere: "running",
        alive_here: "running",
        mine_not_running: "interrupted",
        mine_running: "running",
    }


def test_a_zombie_counts_as_dead() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # exited, left unreaped
        assert not liveness.process_alive(child.pid)  # a zombie
    finally:
        child.wait()
