"""What a fault is, and the hooks through which it acts: toxiproxy's toxic interface.

A fault holds its parameters (units in their names), a `toxicity` probability and the
requests it applies to; whether it fires on a request is a seeded draw, so a run is
reproducible. Once fired, it owns its behaviour: the request handler, the reply builder
and the stream loop ask every fired fault the same questions, in the spec's order, and
never look at its type. Each hook's default is "no effect", so a fault overrides only
the ones it answers:

- before the response: `rejection` (an HTTP error instead of a message);
- the answer: `shape_text` (what the text becomes), `pace` (output tokens a second),
  `first_token_delay_s` (extra wait before the first token), `continuation_style` (how a
  continuation turn is written, `planner.sim.conversation.STYLES`);
- while streaming, before each event: `stream_hold_s` (hold this and every later event;
  asked until it holds once), `stream_ending` (when it ends the stream, if it does now)
  and then `end_stream` (how: through a `StreamOutput`);
- a whole (non-streaming) message: `message_hold_s`, `message_ending`, `end_message`
  (through a `MessageOutput`).

The earliest ending wins; on a tie, the fault first in the spec. Subclassing `Fault`
with a `type` name registers it in `REGISTRY`, which the spec parser reads: adding a
fault is one class (and its test).
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from planner.protocol import RunKey
from planner.sim.errors import FaultSpecError
from planner.sim.timing import SimClock

REGISTRY: dict[str, type[Fault]] = {}


@dataclass(frozen=True)
class Progress:
    """How far a stream has got when its faults are asked about the next event."""

    chars_sent: int
    total_chars: int
    bytes_sent: int
    elapsed_s: float  # simulated seconds since arrival at which the next event is due


@dataclass(frozen=True)
class Rejection:
    """An HTTP error response sent instead of the message.

    Its body is the API's JSON error (with `error.details.error_code` when given), or a
    proxy's HTML page when `html`.
    """

    status: int
    headers: dict[str, str]
    error_code: str | None = None
    message: str | None = None
    html: bool = False


class StreamOutput(Protocol):
    """What a fault may do to a stream: every event so far is written before each."""

    async def send(self, data: bytes) -> None: ...

    async def end(self) -> None:
        """End the body cleanly here: the rest of the answer is never sent."""

    async def cut(self) -> None:
        """Drop the connection: the client sees an incomplete body."""

    async def stop(self, stop_reason: str, stop_details: dict[str, Any] | None) -> None:
        """End the message cleanly here with this stop reason (the open block is closed)."""


class MessageOutput(Protocol):
    """What a fault may do to a non-streaming response instead of sending the message."""

    def reject(self, status: int) -> None: ...

    def stop(
        self, stop_reason: str, stop_details: dict[str, Any] | None, at_fraction: float
    ) -> None:
        """Send the message with the text up to `at_fraction` and this stop reason."""

    async def cut(self, after_bytes: int | None = None) -> None:
        """Drop the connection, after that many bytes of the message body (None: none)."""


@dataclass(frozen=True)
class Fault:
    type: ClassVar[str] = ""
    toxicity: float = 1.0
    on_requests: tuple[int, ...] | None = None
    # Only requests whose run key has this scope (`RunKey.scope`), so a replayed failure
    # hits one stage of a generation only.
    on_scope: str | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.type:
            return
        if cls.type in REGISTRY:
            raise TypeError(f"fault type {cls.type!r} is already {REGISTRY[cls.type].__name__}")
        REGISTRY[cls.type] = cls

    def check(self) -> None:
        """FaultSpecError when a parameter is out of range; subclasses add their own."""
        if not 0.0 <= self.toxicity <= 1.0:
            raise FaultSpecError(
                f"{self.type}: toxicity must be between 0 and 1, got {self.toxicity}"
            )
        if self.on_requests is not None and any(n < 1 for n in self.on_requests):
            raise FaultSpecError(
                f"{self.type}: on_requests are 1-based request numbers, "
                f"got {list(self.on_requests)}"
            )

    def fires(self, request_number: int, rng: random.Random, run_key: RunKey) -> bool:
        if self.on_requests is not None and request_number not in self.on_requests:
            return False
        if self.on_scope is not None and run_key.scope != self.on_scope:
            return False
        return rng.random() < self.toxicity

    def to_dict(self) -> dict[str, Any]:
        """Its type and every parameter (what `GET /admin/faults` shows)."""
        values = dataclasses.asdict(self)
        if values["on_requests"] is not None:
            values["on_requests"] = list(values["on_requests"])
        if values["on_scope"] is None:
            del values["on_scope"]
        return {"type": self.type, **values}

    def to_spec_item(self) -> dict[str, Any]:
        """Its type and the parameters that differ from the defaults (the canonical form)."""
        item: dict[str, Any] = {"type": self.type}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value != field.default:
                item[field.name] = list(value) if isinstance(value, tuple) else value
        return item

    def rejection(self, clock: SimClock) -> Rejection | None:
        return None

    def shape_text(self, text: str) -> str:
        return text

    def continuation_style(self) -> str | None:
        return None

    def pace(self, tokens_per_s: float) -> float:
        return tokens_per_s

    def first_token_delay_s(self, rng: random.Random) -> float:
        """Simulated seconds added before the first token (draws only when it adds some)."""
        return 0.0

    def stream_hold_s(self, progress: Progress) -> float:
        return 0.0

    def stream_ending(self, progress: Progress, due_s: float) -> float | None:
        """When (simulated s) this fault ends the stream, if it does before the next event.

        `due_s` is when the next event is due after this event's holds.
        """
        return None

    async def end_stream(self, out: StreamOutput) -> None:
        raise NotImplementedError(f"{self.type} gave a stream ending but no way to end it")

    def message_hold_s(self) -> float:
        return 0.0

    def message_ending(self, finish_s: float) -> float | None:
        """When (simulated s) this fault ends a message due at `finish_s`, if it does."""
        return None

    async def end_message(self, out: MessageOutput) -> None:
        raise NotImplementedError(f"{self.type} gave a message ending but no way to end it")


def check_positive(fault: Fault, name: str, value: float | None, allow_zero: bool = False) -> None:
    if value is not None and (value < 0 or (value == 0 and not allow_zero)):
        raise FaultSpecError(
            f"{fault.type}: {name} must be {'>= 0' if allow_zero else '> 0'}, got {value}"
        )


def check_fraction(fault: Fault, name: str, value: float | None) -> None:
    if value is not None and not 0.0 <= value <= 1.0:
        raise FaultSpecError(f"{fault.type}: {name} must be between 0 and 1, got {value}")
