"""Where the endpoint runs: `planner serve`, and a dashboard thread started once."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
import socketio

from planner.config import reset_settings
from planner.db import Database
from planner.plan import GenerationService
from planner.realtime import RealtimeHandle, RealtimeStartError, start_realtime_in_thread
from tests.realtime_support import make_user


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def busy_port() -> Iterator[int]:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    yield holder.getsockname()[1]
    holder.close()


@pytest.fixture
def dashboard_handles() -> Iterator[list[RealtimeHandle]]:
    handles: list[RealtimeHandle] = []
    yield handles
    for handle in handles:
        handle.stop()


def test_the_dashboard_endpoint_starts_once_on_the_configured_port(
    service: GenerationService,
    home_db: Database,
    monkeypatch: pytest.MonkeyPatch,
    dashboard_handles: list[RealtimeHandle],
) -> None:
    port = free_port()
    monkeypatch.setenv("PLANNER_SOCKETIO_PORT", str(port))
    reset_settings()
    first = start_realtime_in_thread(db=home_db, service=service)
    assert first is not None
    dashboard_handles.append(first)
    again = start_realtime_in_thread(db=home_db, service=service)  # every Streamlit rerun calls it

    _, token = make_user(home_db, "alice")
    client = socketio.SimpleClient()
    client.connect(first.url, auth={"token": token}, transports=["websocket"])
    reply = client.call("join_generation", {"generation_id": "nope"}, timeout=10)
    client.disconnect()

    assert again is first and first.port == port and first.running
    assert reply["error"]["code"] == "invalid_payload"
    with pytest.raises(RealtimeStartError, match="already serves"):
        start_realtime_in_thread(db=home_db, service=service, port=free_port())


def test_port_zero_disables_the_dashboard_endpoint(
    service: GenerationService, home_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLANNER_SOCKETIO_PORT", "0")
    reset_settings()
    assert start_realtime_in_thread(db=home_db, service=service) is None


def test_a_busy_port_is_a_clear_error(
    service: GenerationService,
    home_db: Database,
    busy_port: int,
    dashboard_handles: list[RealtimeHandle],
) -> None:
    with pytest.raises(RealtimeStartError, match=f"cannot listen on 127.0.0.1:{busy_port}"):
        start_realtime_in_thread(db=home_db, service=service, port=busy_port)


def test_serve_reports_a_busy_port_a_bad_redis_url_and_a_redis_that_is_down(
    invoke,  # noqa: ANN001
    busy_port: int,
) -> None:
    busy = invoke("serve", "--port", str(busy_port))
    bad_url = invoke("serve", "--port", "0", "--redis", "http://127.0.0.1:6379")
    down = invoke("serve", "--port", "0", "--redis", "redis://127.0.0.1:1/0")

    # A service that cannot be used (the port, Redis) exits 6; a setting that is wrong, 2.
    assert busy.exit_code == 6 and f"cannot listen on 127.0.0.1:{busy_port}" in busy.stderr
    assert bad_url.exit_code == 2 and "not a Redis URL" in bad_url.stderr
    assert down.exit_code == 6 and "Redis at redis://127.0.0.1:1/0 does not answer" in down.stderr
    assert all("Traceback" not in run.stderr for run in (busy, bad_url, down))


def test_serve_help_documents_the_protocol(invoke) -> None:  # noqa: ANN001
    result = invoke("serve", "--help")
    assert result.exit_code == 0
    assert "request_catch_up" in result.stdout and "--redis" in result.stdout
