"""Admin endpoints and the Python handle: health, stats, changing faults at runtime."""

from __future__ import annotations

import httpx2
import pytest

from planner.errors import ConflictError, ServiceUnavailable
from planner.sim import (
    FaultSpecError,
    Simulator,
    SimulatorNotRunning,
    SimulatorStartError,
)
from tests.sim_helpers import client, plain_request, stream_text


def test_health_and_stats_count_requests_and_faults() -> None:
    with Simulator(speed=0, faults="eof") as sim:
        assert httpx2.get(f"{sim.base_url}/admin/health").json() == {"status": "ok"}
        sdk = client(sim.base_url)
        stream_text(sdk, plain_request())  # request 1: eof
        stream_text(sdk, plain_request())  # request 2: clean
        sdk.messages.create(**plain_request())
        stats = httpx2.get(f"{sim.base_url}/admin/stats").json()
    assert stats["requests"] == 3
    assert stats["streams"] == 2
    assert stats["faults_fired"] == {"eof": 1}
    assert stats["statuses"] == {"200": 3}
    assert stats["active_streams"] == 0
    assert stats["output_tokens"] > 0 and stats["deltas"] > 0
    assert stats["faults"] == "eof"
    assert stats["answers"] == {"plain": 3}


def test_stats_count_each_run_keys_requests_and_a_contender_counts_only_its_own() -> None:
    """Two runs sharing one simulator, as on a worker: each key's count is its own, and
    `SimulatorCount` (libraries that take no HTTP client) reads only its run's."""
    from planner.contenders.base import Endpoint, SimulatorCount
    from planner.protocol import RUN_HEADER

    with Simulator(speed=0) as sim:
        messages = f"{sim.base_url}/v1/messages"

        def ask(run: str) -> None:
            reply = httpx2.post(messages, json=plain_request(), headers={RUN_HEADER: run})
            assert reply.status_code == 200

        mine = SimulatorCount(Endpoint(sim.base_url, headers={RUN_HEADER: "run-a:discovery"}))
        everything = SimulatorCount(Endpoint(sim.base_url))
        for run in ("run-a:discovery", "run-b:discovery", "run-b:discovery", "run-a:discovery"):
            ask(run)
        assert mine.requests == 2 and everything.requests == 4
        stats = httpx2.get(f"{sim.base_url}/admin/stats", params={"run": "run-b:discovery"})
        assert stats.json()["run_requests"] == 2 and stats.json()["requests"] == 4
        unseen = httpx2.get(f"{sim.base_url}/admin/stats", params={"run": "nobody:masterplan"})
        assert unseen.json()["run_requests"] == 0
        assert "run_requests" not in httpx2.get(f"{sim.base_url}/admin/stats").json()


def test_faults_change_at_runtime_over_http() -> None:
    with Simulator(speed=0) as sim:
        admin = f"{sim.base_url}/admin/faults"
        assert httpx2.get(admin).json()["spec"] == "none"
        changed = httpx2.put(admin, content='[{"type": "http_error", "status": 503}]')
        assert changed.status_code == 200
        assert changed.json()["faults"][0]["status"] == 503
        failed = httpx2.post(f"{sim.base_url}/v1/messages", json=plain_request())
        assert failed.status_code == 503
        assert failed.json()["error"]["type"] == "api_error"
        assert httpx2.post(admin, json={"faults": "none"}).json()["spec"] == "none"
        assert httpx2.post(f"{sim.base_url}/v1/messages", json=plain_request()).status_code == 200


def test_a_bad_spec_over_http_is_refused_and_the_old_one_kept() -> None:
    with Simulator(speed=0, faults="eof") as sim:
        response = httpx2.put(f"{sim.base_url}/admin/faults", content="drop-at-99")
        assert response.status_code == 400
        assert "unknown fault profile 'drop-at-99'" in response.json()["error"]["message"]
        assert httpx2.get(f"{sim.base_url}/admin/faults").json()["spec"] == "eof"


def test_set_faults_from_python() -> None:
    with Simulator(speed=0) as sim:
        sim.set_faults("drop-at-50")
        assert sim.stats()["faults"] == "drop-at-50"
        with pytest.raises(httpx2.RemoteProtocolError):
            stream_text(client(sim.base_url), plain_request())
        with pytest.raises(FaultSpecError):
            sim.set_faults("[")
        assert sim.stats()["faults"] == "drop-at-50"


def test_unknown_paths_get_an_api_style_404() -> None:
    with Simulator(speed=0) as sim:
        response = httpx2.get(f"{sim.base_url}/v1/nothing")
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "not_found_error"
    assert response.json()["request_id"] == response.headers["request-id"]


def test_start_stop_and_restart() -> None:
    sim = Simulator(speed=0)
    with pytest.raises(SimulatorNotRunning, match="not running") as caught:
        _ = sim.base_url
    assert isinstance(caught.value, ConflictError) and isinstance(caught.value, RuntimeError)
    sim.start()
    url = sim.base_url
    assert httpx2.get(f"{url}/admin/health").status_code == 200
    sim.stop()
    with pytest.raises(httpx2.ConnectError):
        httpx2.get(f"{url}/admin/health")
    sim.stop()  # stopping twice is harmless


def test_a_busy_port_is_a_clear_error() -> None:
    with Simulator(speed=0) as sim, pytest.raises(SimulatorStartError) as caught:
        Simulator(port=sim.port).start()
    assert isinstance(caught.value, ServiceUnavailable) and isinstance(caught.value, OSError)
    assert f"cannot listen on 127.0.0.1:{sim.port}" in str(caught.value)
