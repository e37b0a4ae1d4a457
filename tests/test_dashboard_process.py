"""The dashboard process's own start and stop (Streamlit's ASGI lifespan), for real: its
Socket.IO endpoint serves before any page is opened, and a SIGTERM hands off the
generation it runs (left interrupted with its event, resumable), without waiting for it."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import select, update

from planner.db import Database, Generation, GenerationEvent
from planner.plan import resume_generation
from planner.store import GenerationStore
from planner.store.liveness import SHUTDOWN_REASON
from tests.conftest import PREFILL_MODEL, REPO_ROOT, cli_env
from tests.realtime_support import DESCRIPTION, Client, make_user
from tests.test_dashboard_browser import free_port, wait_until_serving

pytestmark = pytest.mark.anyio


def _socketio_serves(port: int) -> bool:
    try:
        answer = urllib.request.urlopen(
            f"http://127.0.0.1:{port}/socket.io/?EIO=4&transport=polling", timeout=2
        ).read()
    except OSError:
        return False
    return answer.startswith(b"0{")


async def test_a_stopped_dashboard_hands_off_its_generation_and_exits_without_waiting(
    home_db: Database, planner_home: Path
) -> None:
    home_db.ensure_schema()
    _, token = make_user(home_db, "alice")
    port, socketio_port = free_port(), free_port()
    log_path = planner_home.parent / "dashboard.log"
    with log_path.open("w") as log:
        dashboard = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "planner/dashboard/asgi.py"]
            + ["--server.port", str(port), "--server.headless", "true"]
            + ["--server.fileWatcherType", "none"],
            cwd=REPO_ROOT,
            env=cli_env(
                PLANNER_HOME=str(planner_home),
                PLANNER_SOCKETIO_PORT=str(socketio_port),
                PLANNER_MODEL=PREFILL_MODEL,
            ),
            stdout=log,
            stderr=subprocess.STDOUT,
            # a shell without job control would start it with SIGINT ignored
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
    client = Client()
    try:
        await asyncio.to_thread(wait_until_serving, f"http://127.0.0.1:{port}", dashboard, log_path)
        for _ in range(600):  # the endpoint starts with the process, no page opened
            if await asyncio.to_thread(_socketio_serves, socketio_port):
                break
            await asyncio.sleep(0.1)
        else:
            pytest.fail(f"no Socket.IO endpoint:\n{log_path.read_text()[-3000:]}")
        await client.connect(f"http://127.0.0.1:{socketio_port}", token)
        # A model's pace: minutes of streaming, which the stop must not wait for.
        started = await client.call("start_generation", {"description": DESCRIPTION, "speed": 1})
        gid = started["generation_id"]
        await client.wait_until(
            lambda: len(client.named("masterplan_text_delta")) >= 3,
            timeout_s=60,
            what="the generation to stream",
        )
        dashboard.send_signal(signal.SIGTERM)
        exit_code = await asyncio.to_thread(dashboard.wait, 60)
    finally:
        await client.sio.disconnect()
        if dashboard.poll() is None:
            dashboard.kill()
            dashboard.wait()
    # Streamlit ends by re-raising the SIGTERM once its shutdown (and so ours) is done
    assert exit_code in (0, -signal.SIGTERM), log_path.read_text()[-3000:]
    assert "left interrupted as this process stops" in log_path.read_text()
    stored = GenerationStore(home_db).load(gid)
    assert stored.status == "interrupted" and f"planner resume {gid}" in (stored.error or "")
    last = home_db.read(
        lambda conn: conn.execute(
            select(GenerationEvent.name, GenerationEvent.payload)
            .where(GenerationEvent.generation_id == gid)
            .order_by(GenerationEvent.seq.desc())
            .limit(1)
        ).one()
    )
    assert (last.name, last.payload["reason"]) == (
        "masterplan_generation_interrupted",
        SHUTDOWN_REASON,
    )
    # Resumable from its checkpoint (the rest at full speed, not the pace).
    home_db.transaction(
        lambda conn: conn.execute(update(Generation).where(Generation.id == gid).values(speed=0))
    )
    assert resume_generation(home_db, gid).status == "completed"
