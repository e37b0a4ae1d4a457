"""Running the endpoint: in the foreground (`planner serve`) or on a dashboard thread.

The listening socket is bound before uvicorn starts, so a busy port is a clear error in
the caller, and port 0 (an ephemeral port, for tests) reports the port it got.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from planner.config import get_settings
from planner.db import Database
from planner.events import EventBus
from planner.plan.service import GenerationService
from planner.realtime.errors import RealtimeStartError
from planner.realtime.server import RealtimeServer

START_TIMEOUT_S = 15.0


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port, or RealtimeStartError saying what to change."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise RealtimeStartError(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}); choose another port "
            "(PLANNER_SOCKETIO_PORT, or 0 to disable the endpoint in the dashboard)"
        ) from None
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def _uvicorn(server: RealtimeServer) -> uvicorn.Server:
    config = uvicorn.Config(server.app, lifespan="on", log_level="warning", access_log=False)
    return uvicorn.Server(config)


def serve_forever(
    host: str,
    port: int,
    redis_url: str | None,
    *,
    db: Database,
    service: GenerationService,
    announce: Callable[[str], None] | None = None,
) -> None:
    """Serve until interrupted (Ctrl-C / SIGTERM); `announce(text)` once listening."""
    sock = bind(host, port)
    server = RealtimeServer(db=db, service=service, redis_url=redis_url)
    runner = _uvicorn(server)

    async def announce_when_started() -> None:
        while not runner.started:
            await asyncio.sleep(0.01)
        if announce is not None:
            announce(_describe(sock, redis_url))

    async def main() -> None:
        watcher = asyncio.create_task(announce_when_started())
        try:
            await runner.serve(sockets=[sock])
        finally:
            watcher.cancel()

    _run_uvicorn(main())
    if not runner.started:
        raise RealtimeStartError(_not_started(server))


def _run_uvicorn(main: Coroutine[Any, Any, None]) -> None:
    with contextlib.suppress(SystemExit):  # uvicorn's way to stop when startup failed
        asyncio.run(main)


def _not_started(server: RealtimeServer) -> str:
    reason = server.startup_error or "see its log"
    return f"the Socket.IO endpoint did not start: {reason}"


def _describe(sock: socket.socket, redis_url: str | None) -> str:
    host, port = sock.getsockname()[:2]
    queue = f", sharing events through {redis_url}" if redis_url else ""
    return f"Socket.IO endpoint on http://{host}:{port}{queue}"


@dataclass
class RealtimeHandle:
    """A running endpoint on a background thread of this process."""

    host: str
    port: int
    redis_url: str | None
    server: RealtimeServer
    _runner: uvicorn.Server = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._runner.should_exit = True
        self._thread.join(timeout_s)


def start_in_thread(
    host: str = "127.0.0.1",
    port: int = 0,
    redis_url: str | None = None,
    *,
    db: Database,
    service: GenerationService,
    bus: EventBus | None = None,
    **options: Any,
) -> RealtimeHandle:
    """Start an endpoint on a daemon thread and return once it accepts connections.

    `options` go to `RealtimeServer` (`reads`, `clock`, `catch_up_wait_s`).
    """
    sock = bind(host, port)
    server = RealtimeServer(db=db, service=service, bus=bus, redis_url=redis_url, **options)
    runner = _uvicorn(server)
    thread = threading.Thread(
        target=_run_uvicorn,
        args=(runner.serve(sockets=[sock]),),
        name="planner-realtime",
        daemon=True,
    )
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not runner.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            runner.should_exit = True
            thread.join(5)
            sock.close()
            raise RealtimeStartError(_not_started(server))
        time.sleep(0.01)
    bound_host, bound_port = sock.getsockname()[:2]
    return RealtimeHandle(bound_host, bound_port, redis_url, server, runner, thread)


_process_lock = threading.Lock()
_process_handle: RealtimeHandle | None = None


def start_realtime_in_thread(
    *,
    db: Database,
    service: GenerationService,
    port: int | None = None,
    redis_url: str | None = None,
    host: str = "127.0.0.1",
) -> RealtimeHandle | None:
    """The dashboard's endpoint: started once per process, later calls return it.

    `port` defaults to PLANNER_SOCKETIO_PORT and `redis_url` to PLANNER_REDIS_URL; port 0
    disables the endpoint (returns None). Safe to call on every Streamlit rerun.
    """
    global _process_handle
    settings = get_settings()
    port = settings.socketio_port if port is None else port
    redis_url = redis_url or settings.redis_url
    if port == 0:
        return None
    with _process_lock:
        if _process_handle is not None and _process_handle.running:
            running = (_process_handle.port, _process_handle.redis_url)
            if running != (port, redis_url):
                raise RealtimeStartError(
                    f"this process already serves Socket.IO as (port, redis) {running}; "
                    f"asked for {(port, redis_url)}"
                )
            return _process_handle
        _process_handle = start_in_thread(host, port, redis_url, db=db, service=service)
        return _process_handle
