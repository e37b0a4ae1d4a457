"""Durable generations on real `planner worker` processes and PostgreSQL.

1. Detection-to-resume latency after SIGKILL: a worker running a generation mid-MasterPlan
   is killed; the clock runs from the kill until another worker has claimed the
   generation (its lease names a new runner). The workers share this host, so the sweep
   sees the dead pid at once; BENCH_SIGNAL=STOP pauses the worker instead, which only
   the lease's expiry reveals: the figure for a worker on another machine. Default
   liveness settings (lease 10 s, sweep 2 s, heartbeat 2 s) unless PLANNER_LEASE_TTL_S
   & co. are set. Median and max
   over KILLS kills.
2. Experiment throughput at speed 100 with 1, 2 and 4 worker processes (concurrency 4
   each): runs/s and the ratio to one worker, and the 10,000-run time they imply.
3. Generations per worker at saturation: one worker (concurrency 100) given N
   generations at a time at a simulated pace (speed 20); generations/s per N: where it
   stops growing, the CPU (or pool) is saturated.

Run alone: `python -m benchmarks.bench_durable` (BENCH_KILLS, BENCH_RUNS, BENCH_LOADS to
size it). The machine is shared: figures move by tens of percent between runs.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

KILLS = int(os.environ.get("BENCH_KILLS", "10"))
SIGNAL = signal.Signals[f"SIG{os.environ.get('BENCH_SIGNAL', 'KILL')}"]
ONLY_LATENCY = os.environ.get("BENCH_ONLY_LATENCY") == "1"
RUNS = int(os.environ.get("BENCH_RUNS", "16"))
LOADS = [int(n) for n in os.environ.get("BENCH_LOADS", "10,25,50,100").split(",")]
PG_ADMIN = os.environ.get("PLANNER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
ROOT = Path(__file__).resolve().parent.parent
MODEL = "claude-haiku-4-5"  # streams at a pace the kill can land mid-MasterPlan


def _database() -> tuple[str, str]:
    import psycopg

    name = f"planner_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return name, f"{base}/{name}"


def _drop(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _env(url: str, home: str) -> dict[str, str]:
    env = dict(os.environ, PLANNER_DATABASE_URL=url, PLANNER_HOME=home, PLANNER_MODEL=MODEL)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def _worker(env: dict[str, str], concurrency: int = 4) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "planner", "worker", "--concurrency", str(concurrency)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=ROOT,
    )


def _registered(db, count: int) -> None:  # noqa: ANN001
    """Wait until `count` workers are registered with Procrastinate (started, listening):
    the timings below leave out the workers' start-up."""
    from sqlalchemy import text

    query = text("SELECT count(*) FROM procrastinate_workers")
    _until(lambda: db.read(lambda conn: conn.scalar(query)) >= count, poll_s=0.1)


def _stop(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        if worker.poll() is None:
            worker.terminate()
    for worker in workers:
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()


def _until(condition, timeout_s: float = 300, poll_s: float = 0.05):  # noqa: ANN001, ANN202
    deadline = time.monotonic() + timeout_s
    value = None
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(poll_s)
    raise TimeoutError(f"the benchmark's condition never held (last: {value!r})")


def detection_latency(url: str, env: dict[str, str]) -> list[float]:
    from sqlalchemy import select

    from planner.auth import get_or_create_local_user
    from planner.db import Database, Generation, GenerationLease
    from planner.jobs import cancel_generation, enqueue_generation, make_app
    from planner.plan import GenerationRequest
    from planner.store import GenerationStore

    db = Database(url)
    user = get_or_create_local_user(db)
    app = make_app(db)
    workers = [_worker(env), _worker(env)]
    latencies = []
    try:
        for _ in range(KILLS):
            gid = enqueue_generation(
                db, app, GenerationRequest("A bike repair co-op", user.id, speed=5)
            )

            def lease(gid: uuid.UUID = gid) -> tuple[str | None, int, str, int]:
                def read(conn):  # noqa: ANN001, ANN202
                    owner, epoch = conn.execute(
                        select(GenerationLease.owner, GenerationLease.epoch).where(
                            GenerationLease.generation_id == gid
                        )
                    ).one()
                    stage, offset = conn.execute(
                        select(Generation.checkpoint_stage, Generation.checkpoint_offset).where(
                            Generation.id == gid
                        )
                    ).one()
                    return owner, epoch, stage, offset

                return db.read(read)

            try:
                owner, epoch, _, _ = _until(
                    lambda: (row := lease())[2] == "masterplan" and row[3] > 300 and row
                )
            except TimeoutError:
                stored = GenerationStore(db).load(gid)
                raise TimeoutError(f"{lease()} {stored.status} {stored.error}") from None
            pid = int(owner.rsplit(":", 1)[1])
            victim = next(w for w in workers if w.pid == pid)
            os.kill(pid, SIGNAL)
            killed = time.monotonic()
            _until(
                lambda epoch=epoch: (
                    (row := lease())[1] >= epoch + 2 and row[0] not in (None, "sweep")
                )
            )
            latencies.append(time.monotonic() - killed)
            print(f"  kill {len(latencies)}: {latencies[-1]:.1f} s", file=sys.stderr, flush=True)
            victim.kill()
            victim.wait()
            workers.remove(victim)
            workers.append(_worker(env))
            cancel_generation(db, gid, user.id)  # free the survivor for the next round
    finally:
        _stop(workers)
        db.close()
    return latencies


def experiment_throughput(url: str, env: dict[str, str], worker_count: int) -> float:
    from planner.auth import get_or_create_local_user
    from planner.db import Database
    from planner.experiments import ExperimentConfig
    from planner.jobs import enqueue_experiment, make_app
    from planner.jobs.follow import follow_experiment

    db = Database(url)
    user = get_or_create_local_user(db)
    workers = [_worker(env) for _ in range(worker_count)]
    try:
        _registered(db, worker_count)
        repeats = max(1, RUNS // 4)
        config = ExperimentConfig(
            faults=("drop-at-90",), strategies=("resume", "restart"), repeats=repeats, speed=100
        )
        started = time.monotonic()
        experiment_id, total = enqueue_experiment(db, make_app(db), config, user.id)
        follow_experiment(db, experiment_id, poll_s=0.1)
        return total / (time.monotonic() - started)
    finally:
        _stop(workers)
        db.close()


def saturation(url: str, env: dict[str, str]) -> list[tuple[int, float]]:
    from planner.auth import get_or_create_local_user
    from planner.db import Database
    from planner.jobs import enqueue_generation, make_app
    from planner.plan import GenerationRequest
    from planner.store import GenerationStore

    db = Database(url)
    user = get_or_create_local_user(db)
    app = make_app(db)
    store = GenerationStore(db)
    worker = _worker(env, concurrency=max(LOADS))
    figures = []
    try:
        _registered(db, 1)
        for load in LOADS:
            started = time.monotonic()
            ids = [
                enqueue_generation(db, app, GenerationRequest("A seed library", user.id, speed=20))
                for _ in range(load)
            ]
            _until(
                lambda ids=ids: all(store.load(g).status in ("completed", "failed") for g in ids),
                timeout_s=900,
                poll_s=0.5,
            )
            figures.append((load, load / (time.monotonic() - started)))
    finally:
        _stop([worker])
        db.close()
    return figures


def main() -> None:
    from planner.db import Database

    name, url = _database()
    with tempfile.TemporaryDirectory() as home:
        env = _env(url, home)
        os.environ.update({k: env[k] for k in ("PLANNER_DATABASE_URL", "PLANNER_HOME")})
        with Database(url) as db:
            db.ensure_schema()
        try:
            latencies = detection_latency(url, env) if KILLS else [float("nan")]
            print(
                f"detection-to-resume after {SIGNAL.name} ({len(latencies)} times): "
                f"median {statistics.median(latencies):.1f} s, max {max(latencies):.1f} s"
            )
            if ONLY_LATENCY:
                return
            rates = {n: experiment_throughput(url, env, n) for n in (1, 2, 4)}
            for n, rate in rates.items():
                print(
                    f"experiment throughput, {n} worker(s) at speed 100: {rate:.2f} runs/s "
                    f"(x{rate / rates[1]:.2f} of one worker); 10,000 runs ≈ "
                    f"{10_000 / rate / 3600:.1f} h"
                )
            for load, rate in saturation(url, env):
                print(f"one worker, {load} concurrent generations (speed 20): {rate:.2f} gen/s")
        finally:
            _drop(name)


if __name__ == "__main__":
    main()
