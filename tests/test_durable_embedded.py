"""DuckDB, one machine, no workers: a CLI generation killed mid-MasterPlan is found by a
long-lived process (the dashboard's generation service) while it runs, marked
interrupted with an event, and resumed there from its checkpoint to the same plan."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from planner.auth import get_or_create_local_user
from planner.config import reset_settings
from planner.db import Database
from planner.events import EventBus
from planner.plan import GenerationRequest, GenerationService, run_generation
from tests.conftest import PREFILL_MODEL, REPO_ROOT, cli_env
from tests.durable_helpers import (
    Heard,
    assert_gap_free,
    chunk_seqs,
    masterplan_checkpoint,
    plans_of,
    status_of,
    stored_events,
    wait_for,
)

DESCRIPTION = "A lending library for a neighbourhood tool shed with reservations"


def test_a_killed_cli_generation_is_found_and_resumed_while_a_dashboard_runs(
    home_db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PLANNER_MODEL", PREFILL_MODEL)
    monkeypatch.setenv("PLANNER_SWEEP_INTERVAL_S", "0.2")
    reset_settings()
    home_db.ensure_schema()
    user = get_or_create_local_user(home_db)
    reference = run_generation(home_db, GenerationRequest(DESCRIPTION, user.id, speed=0))
    bus = EventBus()
    heard = Heard(bus)
    service = GenerationService(home_db, bus=bus, sweep=True)  # the dashboard's
    child_log = tmp_path / "child.log"
    with child_log.open("w") as log:
        child = subprocess.Popen(
            [sys.executable, "-m", "planner", "generate", DESCRIPTION, "--json", "--speed", "3"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=cli_env(PLANNER_MODEL=PREFILL_MODEL),
            cwd=REPO_ROOT,
        )
    try:
        gid = wait_for(
            lambda: masterplan_checkpoint(home_db, 1000),
            what="the MasterPlan to stream",
            explain=lambda: f"the CLI (exit {child.poll()}) said:\n{child_log.read_text()[-3000:]}",
        )
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
        wait_for(lambda: status_of(home_db, gid) == "completed", what="the resumed generation")
    finally:
        child.kill()
        service.shutdown()
        heard.close()
    assert plans_of(home_db, gid) == plans_of(home_db, reference.generation_id)
    assert_gap_free(chunk_seqs(home_db, gid))
    events = stored_events(home_db, gid)
    assert_gap_free([seq for seq, _ in events])
    names = [name for _, name in events]
    assert names[0] == "masterplan_generation_start" and names.count(names[0]) == 1
    lifecycle = ["interrupted", "resumed", "complete"]
    assert [n for n in names if n.removeprefix("masterplan_generation_") in lifecycle] == [
        f"masterplan_generation_{n}" for n in lifecycle
    ]
    heard_here = heard.names(gid)  # what this process published: the sweep's and the resume's
    assert heard_here[0] == "masterplan_generation_interrupted"
    assert heard_here[-1] == "masterplan_generation_complete"
