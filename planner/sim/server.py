"""The simulator as a context-managed server on its own thread and event loop.

`Simulator(...)` binds 127.0.0.1:0 by default and exposes `.base_url` for
`anthropic.Anthropic(base_url=...)`. It serves the model it is given (`model=`, plain
prose by default: see `planner.sim.answers`) and keeps time by the timer it is given
(`timer=`, the event loop's clock by default; tests give a virtual one). Which catalogued
models are retired is decided by `today=` (the calendar by default).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from datetime import date
from types import TracebackType
from typing import Any

from aiohttp import web

from planner.sim.answers import AnswerModel, PlainProse
from planner.sim.app import create_app
from planner.sim.conversation import Responder
from planner.sim.errors import SimulatorNotRunning, SimulatorStartError
from planner.sim.spec import FaultSpec, parse_fault_spec
from planner.sim.state import SimState
from planner.sim.timing import REAL_TIME, SimClock, Timer

_START_TIMEOUT_S = 10.0


class Simulator:
    def __init__(
        self,
        faults: str | FaultSpec = "none",
        speed: float = 1.0,
        seed: int = 0,
        api_key: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        model: AnswerModel | None = None,
        timer: Timer = REAL_TIME,
        today: Callable[[], date] = date.today,
    ) -> None:
        self.state = SimState(
            parse_fault_spec(faults),
            SimClock(speed, timer),
            seed,
            api_key,
            Responder(model or PlainProse()),
            today,
        )
        self.host = host
        self.port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def base_url(self) -> str:
        if self._thread is None:
            raise SimulatorNotRunning(
                "the simulator is not running; call start() or use it as a context manager"
            )
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> Simulator:
        if self._thread is not None:
            return self
        self._thread = threading.Thread(target=self._serve, name="planner-sim", daemon=True)
        self._thread.start()
        if not self._ready.wait(_START_TIMEOUT_S):
            raise SimulatorStartError(f"the simulator did not start in {_START_TIMEOUT_S:g} s")
        if self._error is not None:
            self._thread = None
            self._ready.clear()
            error, self._error = self._error, None
            if isinstance(error, OSError):
                raise SimulatorStartError(
                    f"the simulator cannot listen on {self.host}:{self.port}: "
                    f"{error.strerror or error}"
                ) from error
            raise error
        return self

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._bind())
        except BaseException as exc:  # reported to start()
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self._runner.cleanup() if self._runner else asyncio.sleep(0))
            loop.close()

    async def _bind(self) -> None:
        self._runner = web.AppRunner(create_app(self.state), access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, backlog=512, reuse_address=True)
        await site.start()
        self.port = self._runner.addresses[0][1]

    def stop(self) -> None:
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        self._thread = None
        self._ready.clear()

    def set_faults(self, spec: str | FaultSpec) -> None:
        """Change the fault spec for every later request (FaultSpecError if it is bad)."""
        self.state.set_spec(parse_fault_spec(spec))

    def stats(self) -> dict[str, Any]:
        return self.state.stats()

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
