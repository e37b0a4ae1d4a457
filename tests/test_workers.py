"""Generations and experiments as Procrastinate jobs on real PostgreSQL, run by real
`planner worker` processes: a killed worker's generation completes on another, a paused
one writes nothing after it was replaced, experiments fan out and lose no run.

Leases and sweeps are short (settings), simulator speeds high; every wait is a condition
with a generous deadline.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from planner.auth import get_or_create_local_user
from planner.config import reset_settings
from planner.db import Database, GenerationLease
from planner.jobs import enqueue_generation, make_app
from planner.plan import GenerationRequest, run_generation
from tests.conftest import PREFILL_MODEL, REPO_ROOT, cli_env
from tests.durable_helpers import (
    assert_gap_free,
    chunk_seqs,
    masterplan_checkpoint,
    plans_of,
    status_of,
    stored_events,
    wait_for,
)

DESCRIPTION = "A booking system for a climbing gym with classes and memberships"
FAST_LIVENESS = {
    "PLANNER_HEARTBEAT_S": "0.3",
    "PLANNER_LEASE_TTL_S": "1.5",
    "PLANNER_SWEEP_INTERVAL_S": "1",
}


@pytest.fixture
def jobs_db(postgres: Database, monkeypatch: pytest.MonkeyPatch) -> Database:
    for name, value in {**FAST_LIVENESS, "PLANNER_MODEL": PREFILL_MODEL}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PLANNER_DATABASE_URL", postgres.url)
    reset_settings()
    return postgres


@pytest.fixture
def workers(jobs_db: Database) -> Iterator[list[subprocess.Popen]]:
    """Start `planner worker` processes with `workers.append(start())`; all ended after."""
    started: list[subprocess.Popen] = []
    yield started
    for process in started:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGCONT)
            process.terminate()
    for process in started:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def start_worker(db: Database, *, concurrency: int = 4) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "planner", "worker", "--concurrency", str(concurrency)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=cli_env(PLANNER_DATABASE_URL=db.url, PLANNER_MODEL=PREFILL_MODEL, **FAST_LIVENESS),
        cwd=REPO_ROOT,
    )


def owner_pid(db: Database, generation_id: uuid.UUID) -> int | None:
    owner = db.read(
        lambda conn: conn.scalar(
            select(GenerationLease.owner).where(GenerationLease.generation_id == generation_id)
        )
    )
    return int(owner.rsplit(":", 1)[1]) if owner and ":" in owner else None


def test_a_killed_workers_generation_completes_on_another_with_the_same_plan(
    jobs_db: Database, workers: list[subprocess.Popen]
) -> None:
    user = get_or_create_local_user(jobs_db)
    reference = run_generation(jobs_db, GenerationRequest(DESCRIPTION, user.id, speed=0))
    workers.extend([start_worker(jobs_db), start_worker(jobs_db)])
    gid = enqueue_generation(
        jobs_db, make_app(jobs_db), GenerationRequest(DESCRIPTION, user.id, speed=7)
    )
    wait_for(lambda: masterplan_checkpoint(jobs_db, 1000) == gid, what="the MasterPlan")
    runner = wait_for(lambda: owner_pid(jobs_db, gid), what="the runner's pid")
    victim = next(w for w in workers if w.pid == runner)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=30)
    wait_for(lambda: status_of(jobs_db, gid) == "completed", what="the resumed generation")
    assert owner_pid(jobs_db, gid) != victim.pid
    assert plans_of(jobs_db, gid) == plans_of(jobs_db, reference.generation_id)
    assert_gap_free(chunk_seqs(jobs_db, gid))
    events = stored_events(jobs_db, gid)
    assert_gap_free([seq for seq, _ in events])
    names = [name for _, name in events]
    assert names[0] == "masterplan_generation_start" and names.count(names[0]) == 1
    lifecycle = ["interrupted", "resumed", "complete"]
    assert [n for n in names if n.removeprefix("masterplan_generation_") in lifecycle] == [
        f"masterplan_generation_{n}" for n in lifecycle
    ]
