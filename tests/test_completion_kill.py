"""Issue 17.7: completion is one atomic step. A process killed inside the completion
transaction, right after the plan's rows were written and before the commit, leaves no
half-finished record: no plan, the generation resumable, and its resume stores the plan
with its tier, duration, attempts, tokens and one complete event."""

from __future__ import annotations

import signal
import subprocess
import sys
import uuid

from sqlalchemy import select

from planner.db import Database, Generation
from planner.plan import resume_generation
from tests.conftest import REPO_ROOT, cli_env
from tests.durable_helpers import plans_of, status_of, stored_events

# Runs a generation whose plan save kills the process once the rows are written.
_CHILD = """
import os, signal
from planner.auth import get_or_create_local_user
from planner.db import Database
from planner.plan import GenerationRequest, persist, run_generation

save = persist.save_masterplan

def save_then_die(*args, **kwargs):
    masterplan_id = save(*args, **kwargs)
    print("saved", kwargs["generation_id"], flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
    return masterplan_id

persist.save_masterplan = save_then_die
db = Database.from_settings()
db.ensure_schema()
user = get_or_create_local_user(db)
run_generation(db, GenerationRequest("A community fridge network", user.id, speed=0))
"""


def test_a_kill_inside_the_completion_leaves_a_resumable_generation_resume_completes(
    home_db: Database,
) -> None:
    child = subprocess.run(
        [sys.executable, "-c", _CHILD],
        capture_output=True,
        text=True,
        env=cli_env(),
        cwd=REPO_ROOT,
        timeout=120,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    gid = uuid.UUID(child.stdout.split()[1])
    assert plans_of(home_db, gid) == []  # the plan's rows died with the transaction
    assert status_of(home_db, gid) == "running"
    outcome = resume_generation(home_db, gid)  # marks it interrupted (dead owner), resumes
    assert outcome.status == "completed" and outcome.masterplan_id is not None
    assert len(plans_of(home_db, gid)) == 1
    row = home_db.read(
        lambda conn: conn.execute(select(Generation).where(Generation.id == gid)).one()
    )
    assert row.tier is not None and row.duration_s and row.attempts > 0 and row.output_tokens > 0
    names = [name for _, name in stored_events(home_db, gid)]
    assert names.count("masterplan_generation_complete") == 1
    assert names[-1] == "masterplan_generation_complete"
