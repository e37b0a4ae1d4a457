"""Experiments, replay and export: how fast, how faithful, and what an experiment finds.

Prints three sets of figures on a throwaway PLANNER_HOME:
- export: a 500,000-chunk generation to Parquet (rows/s, bytes/row) in bounded batches;
- replay: a 3,000-step recording replayed at 50x (elapsed ÷ expected, worst lateness);
- experiment: a small strategy × fault experiment at high simulator speed, its summary.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from pathlib import Path

from planner.db import Database

CHUNKS = 500_000
# Low enough that streaming, not planner's own per-run work, dominates the model time.
SPEED = 60.0


def _seed_chunks(db: Database) -> uuid.UUID:
    import sqlalchemy as sa

    from planner.db import Generation, User

    generation_id = uuid.uuid4()
    with db.session() as session:
        user = User(username=f"bench{uuid.uuid4().hex[:8]}", can_login=False)
        session.add(user)
        session.flush()
        session.add(
            Generation(
                id=generation_id,
                user_id=user.id,
                description="bench",
                strategy="resume",
                model="bench",
                status="completed",
            )
        )
    with db.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO generation_chunks (generation_id, seq, attempt, stage, char_offset, "
                "chars, t_ms) SELECT CAST(:g AS UUID), i + 1, 1 + i // 200000, 'masterplan', "
                "i * 4, 4, i // 10 FROM range(:n) t(i)"
            ),
            {"g": str(generation_id), "n": CHUNKS},
        )
    return generation_id


def bench_export(db: Database, home: Path) -> None:
    from planner.export import export_parquet

    _seed_chunks(db)
    for batch_rows in (10_000, 100_000):
        out = home / f"export-{batch_rows}"
        started = time.perf_counter()
        exported = export_parquet(db, out, batch_rows=batch_rows, tables=["generation_chunks"])
        elapsed = time.perf_counter() - started
        size = exported[0].path.stat().st_size
        print(
            f"export {exported[0].rows:,} chunks, batches of {batch_rows:,}: "
            f"{elapsed:.2f} s = {exported[0].rows / elapsed:,.0f} rows/s, "
            f"{size / exported[0].rows:.2f} bytes/row"
        )


def bench_replay() -> None:
    from planner.events import EventMessage
    from planner.replay import CallbackSink, ChunkStep, RecordedGeneration, ReplayStep, replay

    generation_id = uuid.uuid4()
    steps = []
    for index in range(3000):
        t_ms = index * 5
        if index % 3 == 0:
            steps.append(
                ReplayStep(
                    t_ms,
                    "event",
                    event=EventMessage(
                        generation_id, index // 3 + 1, "masterplan_text_delta", {"text": "x"}
                    ),
                )
            )
        else:
            steps.append(
                ReplayStep(t_ms, "chunk", chunk=ChunkStep(1, index, "masterplan", index, 1))
            )
    recording = RecordedGeneration(
        generation_id, "bench", "resume", "none", "completed", "stream", 15.0, steps
    )
    speed = 50.0
    lateness: list[float] = []
    started = time.monotonic()
    report = replay(
        recording,
        CallbackSink(
            lambda step: lateness.append((time.monotonic() - started) - step.t_ms / 1000 / speed)
        ),
        speed=speed,
    )
    expected = recording.span_ms / 1000 / speed
    lateness.sort()
    print(
        f"replay {report.steps} steps ({recording.span_ms / 1000:.1f} s recorded) at "
        f"{speed:g}x: {report.elapsed_s:.3f} s for {expected:.3f} s expected "
        f"(ratio {report.elapsed_s / expected:.3f}); lateness median "
        f"{lateness[len(lateness) // 2] * 1000:.2f} ms, p99 "
        f"{lateness[int(len(lateness) * 0.99)] * 1000:.2f} ms, "
        f"max {report.max_lateness_ms:.2f} ms"
    )


def bench_experiment(db: Database) -> None:
    from rich.console import Console

    from planner.experiment_report import summary_table
    from planner.experiments import ExperimentConfig, run_experiment

    config = ExperimentConfig(
        faults=("drop-at-90", "drop-twice", "overloaded", "flaky"),
        strategies=("none", "hybrid", "restart", "resume"),
        repeats=2,
        concurrency=2,
        speed=SPEED,
        seed=1,
    )
    started = time.perf_counter()
    result = run_experiment(db, config)
    elapsed = time.perf_counter() - started
    print(
        f"experiment: {len(result.outcomes)} generations in {elapsed:.1f} s "
        f"({elapsed / len(result.outcomes):.2f} s each, concurrency 2, speed {SPEED:g})"
    )
    Console(width=160, highlight=False).print(summary_table(result.summary(db)))


def main() -> None:
    from planner.config import reset_settings

    with tempfile.TemporaryDirectory(prefix="planner-bench-exp-") as folder:
        previous = os.environ.get("PLANNER_HOME")
        os.environ["PLANNER_HOME"] = folder
        reset_settings()
        db = Database.from_settings()
        db.ensure_schema()
        try:
            bench_export(db, Path(folder))
            bench_replay()
            bench_experiment(db)
        finally:
            db.close()
            if previous is None:
                os.environ.pop("PLANNER_HOME", None)
            else:
                os.environ["PLANNER_HOME"] = previous
            reset_settings()


if __name__ == "__main__":
    main()
