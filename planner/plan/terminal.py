"""A generation's progress on a terminal: a rich progress bar fed by the event bus.

The bar shows the real percentage (tokens counted from chunks against the refined
estimate), the phase being written and the token count; recoveries are printed above
it as they happen. It is one more bus subscriber, so it never slows the generation.
"""

from __future__ import annotations

import uuid
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)

from planner.events import EventBus, EventMessage


class TerminalProgress:
    """Context manager: shows one generation's events on stderr while it runs."""

    def __init__(self, bus: EventBus, generation_id: uuid.UUID, console: Console | None = None):
        self.bus = bus
        self.generation_id = generation_id
        self.console = console or Console(stderr=True)
        self.progress = Progress(
            TextColumn("{task.description:<32.32}"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[tokens]}"),
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
        )
        self.task = self.progress.add_task("starting", total=100, tokens="")
        self._handle: int | None = None

    def __enter__(self) -> TerminalProgress:
        # Printed first: a user whose process dies needs the id to resume it.
        self.console.print(f"generation {self.generation_id}", highlight=False)
        self.progress.start()
        self._handle = self.bus.subscribe(self.show, self.generation_id)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._handle is not None:
            self.bus.unsubscribe(self._handle, wait=True)
        self.progress.stop()

    def show(self, message: EventMessage) -> None:
        payload = message.payload
        if message.name == "masterplan_tokens_progress":
            tokens = f"{payload['tokens_received']:,}/~{payload['estimated_total']:,} tokens"
            self.progress.update(
                self.task,
                completed=payload["percentage"],
                description=payload["current_phase"],
                tokens=tokens,
            )
        elif message.name == "masterplan_recovery":
            self.console.print(
                f"[yellow]recovery[/] attempt {payload['attempt']} → {payload['tier']} "
                f"from char {payload['resume_from_char']:,}: {payload['reason']}"
            )
        elif message.name == "masterplan_saving_start":
            self.progress.update(self.task, description="saving")
        elif message.name == "masterplan_generation_error":
            self.progress.update(self.task, description="failed")
