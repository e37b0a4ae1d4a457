"""`planner generate` and `planner resume` as a user runs them: in this process with click's
CliRunner, and in subprocesses only where a real process must die (SIGKILL, Ctrl-C)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from typing import Any

from sqlalchemy import select

from planner.db import Database, Generation, GenerationAttempt, MasterPlanRow
from tests.conftest import PREFILL_MODEL, REPO_ROOT, cli_env
from tests.durable_helpers import masterplan_checkpoint, wait_for

DESCRIPTION = "A volunteer scheduling app for a city marathon with shifts and check-in"


def result_of(outcome: Any) -> dict[str, Any]:
    """The `--json` result object of a finished CLI run (a CliRunner Result or a process)."""
    code = getattr(outcome, "exit_code", None)
    code = outcome.returncode if code is None else code
    assert code == 0, outcome.stderr
    return json.loads(outcome.stdout)


def read(url: str, query):  # noqa: ANN001, ANN201
    """`query(session)` on the database a child process uses (retried while it holds it)."""
    with Database(url) as db:
        return db.in_session(query)


def plan_of(url: str, masterplan_id: str) -> dict[str, Any]:
    return read(url, lambda s: s.get(MasterPlanRow, uuid.UUID(masterplan_id)).plan_json)


def test_generate_prints_the_result_object_and_exits_0(invoke, database_url: str) -> None:
    result = result_of(
        invoke("generate", DESCRIPTION, "--speed", "0", "--json", PLANNER_DATABASE_URL=database_url)
    )
    assert set(result) >= {
        "generation_id",
        "masterplan_id",
        "status",
        "strategy",
        "tier",
        "attempts",
        "output_tokens",
        "wasted_output_tokens",
        "duration_s",
        "phases",
        "milestones",
        "tasks",
        "subtasks",
        "error",
    }
    assert (result["status"], result["strategy"], result["tier"], result["error"]) == (
        "completed",
        "resume",
        "stream",
        None,
    )
    plan = plan_of(database_url, result["masterplan_id"])
    assert (plan["total_tasks"], len(plan["phases"])) == (result["tasks"], result["phases"])
    owner = read(
        database_url,
        lambda s: s.get(Generation, uuid.UUID(result["generation_id"])).user_id,
    )
    from planner.db import User

    assert read(database_url, lambda s: s.get(User, owner).username) == "local"


def _fail_a_generation(invoke):  # noqa: ANN001, ANN202
    """A generation that cannot finish: strategy none meets a drop at 90%."""
    return invoke(
        "generate",
        DESCRIPTION,
        "--speed",
        "0",
        "--strategy",
        "none",
        "--faults",
        "drop-at-90",
        "--json",
    )


def test_a_failed_generation_exits_1_with_a_clear_message(invoke) -> None:
    process = _fail_a_generation(invoke)
    assert process.exit_code == 1
    result = json.loads(process.stdout)
    assert result["status"] == "failed" and result["tier"] == "failed"
    assert "the connection dropped mid-stream" in result["error"]
    assert (
        f"planner: generation {result['generation_id']} failed: the discovery request failed"
        in (process.stderr)
    )


def test_without_json_a_summary_is_printed(invoke) -> None:
    process = invoke(
        "generate",
        DESCRIPTION,
        "--speed",
        "0",
        "--faults",
        "drop-at-90",
        PLANNER_MODEL=PREFILL_MODEL,
    )
    assert process.exit_code == 0, process.stderr
    assert process.stdout.startswith("completed: ")
    assert "(tier resume, 4 attempts" in process.stdout


def test_bad_input_is_refused_with_clear_messages(invoke) -> None:
    cases = [
        (["generate", ""], "planner: generate: the project description is empty"),
        (["generate", "x" * 20_001], "20,001 characters; the limit is 20,000"),
        (
            ["generate", "ok", "--strategy", "yolo"],
            "unknown strategy 'yolo'; choose one of none, hybrid",
        ),
        (["generate", "ok", "--faults", "gremlins"], "unknown fault profile 'gremlins'"),
        (["generate", "ok", "--faults", "[{oops"], "fault spec is not valid JSON"),
        (["generate", "ok", "--speed", "-2"], "speed -2 is out of range"),
        (["generate", "ok", "--speed", "fast"], "'fast' is not a valid float"),
        (["resume", "not-an-id"], "'not-an-id' is not a generation id"),
    ]
    missing = [
        (["generate", "ok", "--user", "nobody"], "there is no user called 'nobody'"),
        (["resume", str(uuid.UUID(int=7))], f"no generation {uuid.UUID(int=7)}"),
    ]
    for code, refusals in ((2, cases), (3, missing)):  # bad input, then nothing by that name
        for args, message in refusals:
            process = invoke(*args)
            assert process.exit_code == code, (args, process.stderr)
            assert message in process.stderr, (args, process.stderr)
            assert "Traceback" not in process.stderr and process.stdout == ""


# A shell started without job control (`make test &` in a script, some CI runners) starts
# its children with SIGINT ignored, and Python then installs no KeyboardInterrupt handler.
# A Ctrl-C at a terminal meets the default handler, so the child gets it back first.
_WITH_CTRL_C = (
    "import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "sys.argv[0] = 'planner'; runpy.run_module('planner', run_name='__main__')"
)


def _start_generation(url: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _WITH_CTRL_C, "generate", DESCRIPTION, "--json", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(PLANNER_DATABASE_URL=url, PLANNER_MODEL=PREFILL_MODEL),
        cwd=REPO_ROOT,
    )


def _wait_for_masterplan_checkpoint(url: str, minimum_chars: int) -> uuid.UUID:
    """The child's running generation once its MasterPlan checkpoint has `minimum_chars`
    (the tables are not there until the child migrated: `wait_for` polls through that)."""
    with Database(url) as db:
        return wait_for(
            lambda: masterplan_checkpoint(db, minimum_chars),
            timeout_s=120,
            what="the generation to reach the MasterPlan stage",
        )


def test_a_killed_generation_is_marked_interrupted_and_resume_completes_the_same_plan(
    invoke, database_url: str
) -> None:
    reference = result_of(
        invoke(
            "generate",
            DESCRIPTION,
            "--speed",
            "0",
            "--json",
            PLANNER_DATABASE_URL=database_url,
            PLANNER_MODEL=PREFILL_MODEL,
        )
    )
    # Half the speed of the Sonnet-paced original: the prefill model (Haiku) streams twice as fast.
    child = _start_generation(database_url, "--speed", "7")
    try:
        gid = _wait_for_masterplan_checkpoint(database_url, minimum_chars=3000)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    assert read(database_url, lambda s: s.get(Generation, gid).status) == "running"

    resumed = invoke("resume", str(gid), "--json", PLANNER_DATABASE_URL=database_url)
    result = result_of(resumed)
    assert (result["generation_id"], result["status"]) == (str(gid), "completed")
    assert plan_of(database_url, result["masterplan_id"]) == plan_of(
        database_url, reference["masterplan_id"]
    )
    attempts = read(
        database_url,
        lambda s: [
            (a.number, a.stage, a.kind, a.error_type)
            for a in s.scalars(
                select(GenerationAttempt)
                .where(GenerationAttempt.generation_id == gid)
                .order_by(GenerationAttempt.number)
            )
        ],
    )
    assert attempts[0] == (1, "discovery", "stream", None)
    assert attempts[1] == (2, "masterplan", "stream", "process_interrupted")
    assert attempts[2][1:] in {("masterplan", "resume", None), ("masterplan", "continue", None)}
    assert result["attempts"] == len(attempts) == 3

    again = invoke("resume", str(gid), "--json", PLANNER_DATABASE_URL=database_url)
    assert result_of(again)["masterplan_id"] == result["masterplan_id"]


def test_ctrl_c_leaves_a_resumable_generation(invoke, database_url: str) -> None:
    # Half the speed of the Sonnet-paced original: the prefill model (Haiku) streams twice as fast.
    child = _start_generation(database_url, "--speed", "7")
    try:
        gid = _wait_for_masterplan_checkpoint(database_url, minimum_chars=1000)
        child.send_signal(signal.SIGINT)
        _, stderr = child.communicate(timeout=60)
    finally:
        child.kill()
    assert child.returncode == 130
    assert f"interrupted; continue with `planner resume {gid}`" in stderr
    row = read(database_url, lambda s: s.get(Generation, gid))
    assert row.status == "interrupted" and row.checkpoint_offset >= 1000

    resumed = result_of(invoke("resume", str(gid), "--json", PLANNER_DATABASE_URL=database_url))
    assert resumed["status"] == "completed" and resumed["tasks"] > 0


def test_only_interrupted_generations_can_be_resumed(invoke) -> None:
    failed = _fail_a_generation(invoke)
    gid = json.loads(failed.stdout)["generation_id"]
    refused = invoke("resume", gid)
    assert refused.exit_code == 4  # a conflict: the generation is not in a state to resume
    assert (
        f"planner: resume: generation {gid} is failed (the discovery request failed"
        in refused.stderr
    )
    assert refused.stderr.rstrip().endswith("only interrupted generations can be resumed")
