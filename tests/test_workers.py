"""Generations and experiments as Procrastinate jobs on real PostgreSQL, run by real
`planner worker` processes: a killed worker's generation completes on another, a paused
one writes nothing after it was replaced, experiments fan out and lose no run.

Leases and sweeps are short (settings), simulator speeds high; every wait is a condition
with a generous deadline.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select, text

from planner.analysis.experiments import experiment_runs
from planner.auth import get_or_create_local_user
from planner.config import reset_settings
from planner.contenders import Outcome
from planner.db import Database, Experiment, ExperimentRun, GenerationEvent, GenerationLease
from planner.events import EventBus
from planner.experiments import ExperimentConfig, run_experiment
from planner.jobs import cancel_generation, enqueue_experiment, enqueue_generation, make_app
from planner.jobs.follow import follow_experiment
from planner.plan import GenerationRequest, GenerationService, run_generation
from planner.realtime import start_in_thread
from planner.store import GenerationStore
from tests.conftest import PREFILL_MODEL, REDIS_URL, REPO_ROOT, cli_env
from tests.durable_helpers import (
    assert_gap_free,
    chunk_seqs,
    masterplan_checkpoint,
    plans_of,
    status_of,
    stored_events,
    wait_for,
)
from tests.realtime_support import Client, connected, make_user

DESCRIPTION = "A booking system for a climbing gym with classes and memberships"
FAST_LIVENESS = {
    "PLANNER_HEARTBEAT_S": "0.5",
    "PLANNER_LEASE_TTL_S": "3",
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


def start_worker(
    db: Database, *, concurrency: int = 4, redis_url: str | None = None
) -> subprocess.Popen:
    extra = {"PLANNER_REDIS_URL": redis_url} if redis_url else {}
    return subprocess.Popen(
        [sys.executable, "-m", "planner", "worker", "--concurrency", str(concurrency)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=cli_env(
            PLANNER_DATABASE_URL=db.url, PLANNER_MODEL=PREFILL_MODEL, **FAST_LIVENESS, **extra
        ),
        cwd=REPO_ROOT,
    )


def owner_pid(db: Database, generation_id: uuid.UUID) -> int | None:
    owner = db.read(
        lambda conn: conn.scalar(
            select(GenerationLease.owner).where(GenerationLease.generation_id == generation_id)
        )
    )
    return int(owner.rsplit(":", 1)[1]) if owner and ":" in owner else None


@pytest.mark.anyio
async def test_a_killed_workers_generation_completes_on_another_with_the_same_plan(
    jobs_db: Database, workers: list[subprocess.Popen], clients: list[Client]
) -> None:
    """...and a Socket.IO client on a node that runs nothing sees it interrupted, resumed
    and complete, each seq once and in order."""
    channel = f"{REDIS_URL}?channel=planner-test-workers-{uuid.uuid4().hex}"
    user, token = make_user(jobs_db, "ann")
    reference = run_generation(jobs_db, GenerationRequest(DESCRIPTION, user.id, speed=0))
    node = start_in_thread(
        "127.0.0.1", 0, channel, db=jobs_db, service=GenerationService(jobs_db, bus=EventBus())
    )
    try:
        workers.extend(
            [start_worker(jobs_db, redis_url=channel), start_worker(jobs_db, redis_url=channel)]
        )
        gid = enqueue_generation(
            jobs_db, make_app(jobs_db), GenerationRequest(DESCRIPTION, user.id, speed=7)
        )
        client = await connected(clients, node, token)
        assert "error" not in await client.call("join_generation", {"generation_id": str(gid)})
        await asyncio.to_thread(
            wait_for, lambda: masterplan_checkpoint(jobs_db, 1000) == gid, what="the MasterPlan"
        )
        runner = await asyncio.to_thread(
            wait_for, lambda: owner_pid(jobs_db, gid), what="the runner's pid"
        )
        victim = next(w for w in workers if w.pid == runner)
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(timeout=30)
        await client.wait_until(
            lambda: any(
                e.get("name") == "masterplan_generation_complete"
                for e in client.generation_events(gid)
            ),
            timeout_s=120,
            what="the complete event",
        )
    finally:
        node.stop()
    assert status_of(jobs_db, gid) == "completed"
    assert owner_pid(jobs_db, gid) != victim.pid
    assert plans_of(jobs_db, gid) == plans_of(jobs_db, reference.generation_id)
    assert_gap_free(chunk_seqs(jobs_db, gid))
    events = stored_events(jobs_db, gid)
    assert_gap_free([seq for seq, _ in events])
    names = [name for _, name in events]
    assert names[0] == "masterplan_generation_start" and names.count(names[0]) == 1
    lifecycle = ["interrupted", "resumed", "complete"]
    expected = [f"masterplan_generation_{n}" for n in lifecycle]
    assert [n for n in names if n.removeprefix("masterplan_generation_") in lifecycle] == expected
    live = client.generation_events(gid)
    seqs = [e["seq"] for e in live]
    assert seqs == sorted(set(seqs))  # each once, in order
    heard = [e["name"] for e in live if e["name"] in expected]
    assert heard == expected
    assert all((e["seq"], e["name"]) in set(events) for e in live)  # only stored events
    # The dead worker's job does not stay `doing` for ever: it ends as failed (the one that
    # finished the generation succeeded, and successful jobs are deleted).
    wait_for(
        lambda: generation_job_statuses(jobs_db, gid) == ["failed"],
        what="the dead worker's job to end",
        explain=lambda: f"the generation's jobs: {generation_job_statuses(jobs_db, gid)}",
    )


def test_a_worker_asked_to_stop_hands_its_generation_to_another_without_waiting_for_it(
    jobs_db: Database, workers: list[subprocess.Popen]
) -> None:
    """SIGTERM (a deploy, `docker stop`): the worker stops taking jobs, hands its running
    generation to the others at once (interrupted, then resumed from its checkpoint by the
    other worker) and exits cleanly; the plan is the uninterrupted one."""
    user = get_or_create_local_user(jobs_db)
    reference = run_generation(jobs_db, GenerationRequest(DESCRIPTION, user.id, speed=0))
    stopping = start_worker(jobs_db, concurrency=1)
    workers.append(stopping)
    # Speed 5: the MasterPlan streams for several seconds after the first 1,000 characters,
    # room for the SIGTERM to reach the worker on a loaded machine before it would finish.
    gid = enqueue_generation(
        jobs_db, make_app(jobs_db), GenerationRequest(DESCRIPTION, user.id, speed=5)
    )
    wait_for(lambda: masterplan_checkpoint(jobs_db, 1000) == gid, what="the MasterPlan")
    assert owner_pid(jobs_db, gid) == stopping.pid
    workers.append(start_worker(jobs_db))
    stopping.send_signal(signal.SIGTERM)
    assert stopping.wait(timeout=60) == 0, "a clean exit"
    wait_for(lambda: status_of(jobs_db, gid) == "completed", timeout_s=120, what="the resume")
    assert owner_pid(jobs_db, gid) == workers[1].pid
    assert plans_of(jobs_db, gid) == plans_of(jobs_db, reference.generation_id)
    assert_gap_free(chunk_seqs(jobs_db, gid))
    events = stored_events(jobs_db, gid)
    assert_gap_free([seq for seq, _ in events])
    lifecycle = [f"masterplan_generation_{n}" for n in ("interrupted", "resumed", "complete")]
    assert [name for _, name in events if name in lifecycle] == lifecycle
    reason = jobs_db.read(
        lambda conn: conn.scalar(
            select(GenerationEvent.payload["reason"].as_string()).where(
                GenerationEvent.generation_id == gid,
                GenerationEvent.name == "masterplan_generation_interrupted",
            )
        )
    )
    assert reason == "the worker running it is shutting down"  # handed off, not found dead


def unfinished_state(db: Database, experiment_id: uuid.UUID) -> str:
    """For a timed-out wait: each unfinished run with its generation's status and lease,
    and the jobs left for it (what a stuck experiment needs to be understood)."""
    rows = db.read(
        lambda conn: conn.execute(
            text(
                "SELECT r.id, r.status, g.status, l.epoch, l.owner, l.expires_at,"
                " (SELECT string_agg(j.status::text || ':' || j.task_name, ',' ORDER BY j.id)"
                "  FROM procrastinate_jobs j WHERE j.args->>'run_id' = r.id::text"
                "  OR j.args->>'generation_id' = r.generation_id::text)"
                " FROM experiment_runs r JOIN generations g ON g.id = r.generation_id"
                " LEFT JOIN generation_leases l ON l.generation_id = g.id"
                " WHERE r.experiment_id = :eid AND r.status NOT IN ('completed', 'failed')"
            ),
            {"eid": experiment_id},
        ).all()
    )
    return "\n".join(" | ".join(str(v) for v in row) for row in rows) or "every run finished"


def generation_job_statuses(db: Database, generation_id: uuid.UUID) -> list[str]:
    """The statuses of the jobs left for one generation, oldest first."""
    return db.read(
        lambda conn: conn.scalars(
            text(
                "SELECT status::text FROM procrastinate_jobs"
                " WHERE task_name = 'planner:run_generation' AND args->>'generation_id' = :gid"
                " ORDER BY id"
            ),
            {"gid": str(generation_id)},
        ).all()
    )


def job_status(db: Database, job_id: int) -> str | None:
    """A Procrastinate job's status (None: deleted, as successful jobs are)."""
    return db.read(
        lambda conn: conn.scalar(
            text("SELECT status::text FROM procrastinate_jobs WHERE id = :id"), {"id": job_id}
        )
    )


def test_a_paused_worker_that_wakes_after_its_generation_moved_writes_nothing_more(
    jobs_db: Database, workers: list[subprocess.Popen]
) -> None:
    user = get_or_create_local_user(jobs_db)
    paused = start_worker(jobs_db)
    workers.append(paused)
    gid = enqueue_generation(
        jobs_db, make_app(jobs_db), GenerationRequest(DESCRIPTION, user.id, speed=7)
    )
    wait_for(lambda: masterplan_checkpoint(jobs_db, 1000) == gid, what="the MasterPlan")
    first_job = jobs_db.read(
        lambda conn: conn.scalar(
            select(GenerationLease.job_id).where(GenerationLease.generation_id == gid)
        )
    )
    os.kill(paused.pid, signal.SIGSTOP)
    workers.append(start_worker(jobs_db))
    wait_for(lambda: status_of(jobs_db, gid) == "completed", what="the generation elsewhere")
    events_before = stored_events(jobs_db, gid)
    chunks_before = chunk_seqs(jobs_db, gid)
    os.kill(paused.pid, signal.SIGCONT)
    # The woken runner meets its lost lease at its next write and its job ends: it is
    # deleted as done, or was already ended as failed while its worker missed heartbeats.
    wait_for(lambda: job_status(jobs_db, first_job) in (None, "failed"), what="the old job")
    assert len(plans_of(jobs_db, gid)) == 1
    assert stored_events(jobs_db, gid) == events_before
    assert chunk_seqs(jobs_db, gid) == chunks_before
    assert_gap_free(chunks_before)
    assert_gap_free([seq for seq, _ in events_before])
    assert status_of(jobs_db, gid) == "completed"


def test_a_cancel_from_another_process_stops_the_workers_generation(
    jobs_db: Database, workers: list[subprocess.Popen]
) -> None:
    user = get_or_create_local_user(jobs_db)
    workers.append(start_worker(jobs_db))
    gid = enqueue_generation(
        jobs_db, make_app(jobs_db), GenerationRequest(DESCRIPTION, user.id, speed=1)
    )
    wait_for(lambda: status_of(jobs_db, gid) == "running", what="the worker to start it")
    assert cancel_generation(jobs_db, gid, user.id)
    wait_for(lambda: status_of(jobs_db, gid) == "failed", what="the cancel to land")
    assert GenerationStore(jobs_db).load(gid).error == "cancelled before it finished"
    assert stored_events(jobs_db, gid)[-1][1] == "masterplan_generation_error"


def test_an_experiment_over_two_workers_one_killed_ends_every_run_exactly_once(
    jobs_db: Database, workers: list[subprocess.Popen]
) -> None:
    user = get_or_create_local_user(jobs_db)
    workers.extend([start_worker(jobs_db), start_worker(jobs_db)])
    config = ExperimentConfig(
        faults=("drop-at-90",), strategies=("resume", "restart"), repeats=10, speed=1000
    )
    experiment_id, total = enqueue_experiment(jobs_db, make_app(jobs_db), config, user.id)
    assert total == 40

    def finished_runs() -> int:
        return jobs_db.read(
            lambda conn: conn.scalar(
                select(func.count())
                .select_from(ExperimentRun)
                .where(ExperimentRun.experiment_id == experiment_id)
                .where(ExperimentRun.status.in_(("completed", "failed")))
            )
        )

    wait_for(lambda: finished_runs() >= 8, what="a fifth of the runs")
    os.kill(workers[0].pid, signal.SIGKILL)
    workers[0].wait(timeout=30)
    wait_for(
        lambda: (
            jobs_db.read(
                lambda conn: conn.scalar(
                    select(Experiment.status).where(Experiment.id == experiment_id)
                )
            )
            == "completed"
        ),
        timeout_s=240,
        what="the experiment to close",
        explain=lambda: unfinished_state(jobs_db, experiment_id),
    )
    runs = experiment_runs(jobs_db, experiment_id)
    assert len(runs) == 40 and set(runs["status"]) <= {"completed", "failed"}
    generations = list(runs["generation_id"])
    assert len(set(generations)) == 40
    for gid in generations:
        assert len(plans_of(jobs_db, uuid.UUID(str(gid)))) <= 1
        assert_gap_free(chunk_seqs(jobs_db, uuid.UUID(str(gid))))


def test_one_worker_runs_a_hundred_generations_at_once_without_exhausting_its_pool(
    jobs_db: Database, workers: list[subprocess.Popen]
) -> None:
    """At a model's pace (speed 1) a hundred streams mostly wait: each batch borrows a
    connection for its statement only, so all of them record side by side. The tokens come
    slower than a model's (a bandwidth fault): a hundred streams at full pace are 13,000
    tokens a second for the worker's one interpreter and its simulator, and the last
    streams then took minutes to start on this 2-core machine."""
    user = get_or_create_local_user(jobs_db)
    workers.append(start_worker(jobs_db, concurrency=100))
    app = make_app(jobs_db)
    trickle = json.dumps([{"type": "bandwidth", "tokens_per_s": 4}])
    ids = [
        enqueue_generation(
            jobs_db, app, GenerationRequest(DESCRIPTION, user.id, faults=trickle, speed=1)
        )
        for _ in range(100)
    ]

    def recording() -> int:
        return jobs_db.read(
            lambda conn: conn.scalar(
                text(
                    "SELECT count(DISTINCT c.generation_id) FROM generation_chunks c "
                    "JOIN generations g ON g.id = c.generation_id WHERE g.status = 'running'"
                )
            )
        )

    wait_for(lambda: recording() == 100, timeout_s=150, what="a hundred streams recording")
    connections = jobs_db.read(
        lambda conn: conn.scalar(
            text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        )
    )
    assert connections <= 50  # the worker's pools, the test's own: not one per generation
    for gid in ids:
        cancel_generation(jobs_db, gid, user.id)

    def statuses() -> dict[str, int]:
        return dict(
            jobs_db.read(
                lambda conn: conn.execute(
                    text("SELECT status, count(*) FROM generations GROUP BY status")
                ).all()
            )
        )

    try:
        wait_for(lambda: statuses() == {"failed": 100}, timeout_s=240, what="every cancel")
    except AssertionError:
        raise AssertionError(f"generations by status: {statuses()}") from None


def test_an_experiment_on_workers_ends_like_a_single_process_run_with_the_same_seed(
    jobs_db: Database, workers: list[subprocess.Popen]
) -> None:
    user = get_or_create_local_user(jobs_db)
    config = ExperimentConfig(
        faults=("drop-at-90",), strategies=("resume", "none"), repeats=1, speed=1000, seed=7
    )
    alone = run_experiment(jobs_db, config, user_id=user.id)
    workers.append(start_worker(jobs_db))
    experiment_id, _ = enqueue_experiment(jobs_db, make_app(jobs_db), config, user.id)
    shared = follow_experiment(jobs_db, experiment_id, poll_s=0.1)
    assert shared.status == "completed"

    def cells(result) -> list[tuple]:  # noqa: ANN001
        runs = experiment_runs(jobs_db, result.experiment_id)
        columns = ["fault_spec", "strategy", "repeat_index", "seed", "status", "tier", "attempts"]
        return sorted(map(tuple, runs[columns].itertuples(index=False)))

    assert cells(shared) == cells(alone)
    assert len(cells(shared)) == 4


def test_contenders_run_on_workers_as_they_do_in_one_process(
    jobs_db: Database, workers: list[subprocess.Popen]
) -> None:
    """A contender's run is a worker job like a strategy's: the same outcomes, judged the
    same, and the same request counts, though four runs share the worker's simulator at
    once (LangChain's are read off the simulator, per run key)."""
    user = get_or_create_local_user(jobs_db)
    config = ExperimentConfig(
        faults=("drop-at-90",),
        strategies=("resume", "langchain", "oracle"),
        repeats=1,
        speed=1000,
        seed=7,
    )
    alone = run_experiment(jobs_db, config, user_id=user.id)
    workers.append(start_worker(jobs_db, concurrency=4))
    experiment_id, total = enqueue_experiment(jobs_db, make_app(jobs_db), config, user.id)
    assert total == 6
    shared = follow_experiment(jobs_db, experiment_id, poll_s=0.1)
    assert shared.status == "completed"

    def cells(result) -> list[tuple]:  # noqa: ANN001
        runs = experiment_runs(jobs_db, result.experiment_id)
        columns = ["fault_spec", "strategy", "status", "outcome", "attempts"]
        return sorted(map(tuple, runs[columns].itertuples(index=False)))

    assert cells(shared) == cells(alone)
    by_cell = {(c[0], c[1]): c for c in cells(shared)}
    # LangChain never retries a stream; the oracle finishes it
    assert by_cell[("drop-at-90", "langchain")][3] == Outcome.FAILED_RAISED
    assert by_cell[("drop-at-90", "oracle")][2:4] == ("completed", Outcome.COMPLETE)
    assert by_cell[("drop-at-90", "langchain")][4] == 1, "one request: its count is its own"


def test_an_experiment_stopped_from_another_process_starts_no_new_run_and_ends_each_once(
    jobs_db: Database, workers: list[subprocess.Popen], invoke
) -> None:
    """`planner experiment --stop` (here, not in the worker): the runs no worker has begun,
    a strategy's and a contender's, are cancelled; the one under way finishes and closes
    the experiment `interrupted`."""
    user = get_or_create_local_user(jobs_db)
    config = ExperimentConfig(
        faults=("drop-at-90",), strategies=("resume", "oracle"), repeats=2, speed=20, seed=3
    )
    workers.append(start_worker(jobs_db, concurrency=1))
    experiment_id, total = enqueue_experiment(jobs_db, make_app(jobs_db), config, user.id)
    assert total == 8

    def generation_statuses() -> list[str]:
        return jobs_db.read(
            lambda conn: conn.scalars(
                text(
                    "SELECT g.status FROM experiment_runs r JOIN generations g"
                    " ON g.id = r.generation_id WHERE r.experiment_id = :eid"
                ),
                {"eid": experiment_id},
            ).all()
        )

    wait_for(lambda: "running" in generation_statuses(), what="the worker to begin a run")
    result = invoke("experiment", "--stop", str(experiment_id))
    assert result.exit_code == 0, result.output
    cancelled = int(re.search(r": (\d+) runs cancelled", result.stderr).group(1))
    assert total - 2 <= cancelled < total  # the run under way (and at most one starting)
    ended = follow_experiment(jobs_db, experiment_id, poll_s=0.1)
    assert ended.status == "interrupted"
    runs = experiment_runs(jobs_db, experiment_id)
    assert len(runs) == total and runs["status"].isin(("completed", "cancelled")).all()
    assert int((runs["status"] == "cancelled").sum()) == cancelled
    assert set(runs.loc[runs["status"] == "cancelled", "strategy"]) == {"resume", "oracle"}
    assert "queued" not in generation_statuses() and "running" not in generation_statuses()
    left = jobs_db.read(
        lambda conn: conn.scalar(
            text(
                "SELECT count(*) FROM procrastinate_jobs j JOIN experiment_runs r"
                " ON j.args->>'run_id' = r.id::text"
                " WHERE r.experiment_id = :eid AND r.status = 'cancelled'"
                " AND j.status IN ('todo', 'doing')"
            ),
            {"eid": experiment_id},
        )
    )
    assert left == 0, "no job of a cancelled run is left waiting"
    again = invoke("experiment", "--stop", str(experiment_id))
    assert again.exit_code == 0 and ": 0 runs cancelled" in again.stderr
    foreign = invoke("experiment", "--stop", str(uuid.uuid4()))
    assert foreign.exit_code == 3 and "you have no experiment" in foreign.stderr
