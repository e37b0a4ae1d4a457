"""`planner sim`: starts, serves the real SDK planner's planning model, reports bad options
clearly, stops on Ctrl-C."""

from __future__ import annotations

import re
import signal
import subprocess
import sys

import httpx2
from conftest import REPO_ROOT, cli_env

from planner.plan.schema import Discovery
from planner.sim import FAULT_TYPES, PROFILES
from tests.sim_helpers import client, discovery, plain_request, stream_text


def test_planner_sim_serves_until_interrupted() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "planner", "sim", "--port", "0", "--speed", "0", "--faults", "eof"],
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
        cwd=REPO_ROOT,
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
        assert match, line
        base_url = match.group(1)
        _, message = stream_text(client(base_url), plain_request())
        assert message.stop_reason is None  # the eof profile cut the first stream
        _, message = stream_text(client(base_url), plain_request())
        assert message.stop_reason == "end_turn"
        assert httpx2.get(f"{base_url}/admin/stats").json()["faults_fired"] == {"eof": 1}
        text, _ = stream_text(client(base_url), discovery())
        Discovery.model_validate_json(text)  # planner's planning model, handed in by the CLI
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_planner_sim_refuses_a_bad_fault_spec(run_cli) -> None:  # noqa: ANN001
    result = run_cli("sim", "--port", "0", "--faults", "drop-at-99", timeout=60)
    assert result.returncode == 1
    assert "unknown fault profile 'drop-at-99'" in result.stderr


def test_planner_sim_refuses_a_negative_speed(run_cli) -> None:  # noqa: ANN001
    result = run_cli("sim", "--port", "0", "--speed", "-1", timeout=60)
    assert result.returncode == 1
    assert "speed must be >= 0" in result.stderr


def test_planner_sim_help_documents_the_options(run_cli) -> None:  # noqa: ANN001
    result = run_cli("sim", "--help", timeout=60)
    assert result.returncode == 0
    for option in ("--port", "--faults", "--speed", "--seed", "--api-key"):
        assert option in result.stdout
    help_text = " ".join(result.stdout.split())
    for name in [*PROFILES, *FAULT_TYPES]:
        assert name in help_text, f"planner sim --help does not mention {name}"
