"""The faults, shaped like toxiproxy's toxics: one small class each, behaviour included.

Each class holds its parameters (units in their names) and answers the hooks of
`planner.sim.toxic.Fault` that it has an effect on; defining it registers it under its
`type`, the name a JSON fault spec uses. `http_error` lives in `planner.sim.http_errors`
(the API's error bodies and retry headers are a subject of their own) and is re-exported
here, so importing this module registers every fault.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import ClassVar

from planner.sim import wire
from planner.sim.conversation import STYLES
from planner.sim.errors import FaultSpecError
from planner.sim.http_errors import HttpError
from planner.sim.toxic import (
    REGISTRY,
    Fault,
    MessageOutput,
    Progress,
    StreamOutput,
    check_fraction,
    check_positive,
)


@dataclass(frozen=True)
class _AtFraction(Fault):
    """A fault that happens once, at a fraction of the answer's characters."""

    at_fraction: float = 0.5

    def check(self) -> None:
        super().check()
        check_fraction(self, "at_fraction", self.at_fraction)

    def trips(self, progress: Progress) -> bool:
        return progress.chars_sent >= self.at_fraction * progress.total_chars


@dataclass(frozen=True)
class Reset(Fault):
    """Close the TCP connection mid-body: the client sees an incomplete chunked read.

    Where: `at_fraction` of the answer's characters (0.5 when nothing is given),
    `after_bytes` of the body, or `after_s` simulated seconds after the request.
    """

    type: ClassVar[str] = "reset"
    at_fraction: float | None = None
    after_bytes: int | None = None
    after_s: float | None = None

    @property
    def fraction(self) -> float:
        return 0.5 if self.at_fraction is None else self.at_fraction

    def check(self) -> None:
        super().check()
        check_fraction(self, "at_fraction", self.at_fraction)
        check_positive(self, "after_bytes", self.after_bytes, allow_zero=True)
        check_positive(self, "after_s", self.after_s, allow_zero=True)
        given = [
            n for n in ("at_fraction", "after_bytes", "after_s") if getattr(self, n) is not None
        ]
        if len(given) > 1:
            raise FaultSpecError(
                f"reset: give one of at_fraction, after_bytes, after_s, not {given}"
            )

    def trips(self, progress: Progress) -> bool:
        if self.after_bytes is not None:
            return progress.bytes_sent >= self.after_bytes
        if self.after_s is not None:
            return progress.elapsed_s >= self.after_s
        return progress.chars_sent >= self.fraction * progress.total_chars

    def stream_ending(self, progress: Progress, due_s: float) -> float | None:
        if not self.trips(progress):
            return None
        # the drop happens when the next event was due, or at after_s if that is sooner
        return due_s if self.after_s is None else min(self.after_s, due_s)

    async def end_stream(self, out: StreamOutput) -> None:
        await out.cut()

    def message_ending(self, finish_s: float) -> float | None:
        if self.after_s is not None:
            return min(self.after_s, finish_s)
        if self.after_bytes is not None:
            return finish_s
        return self.fraction * finish_s

    async def end_message(self, out: MessageOutput) -> None:
        await out.cut(self.after_bytes)


SSE_ERROR_TYPES = ("overloaded_error", "api_error")
# the HTTP status a non-streaming request gets for the error a stream would have carried
_SSE_ERROR_STATUS = {"overloaded_error": 529, "api_error": 500}


@dataclass(frozen=True)
class SseError(_AtFraction):
    """An `event: error` mid-stream, then the end of the stream.

    A non-streaming request gets the matching HTTP error instead (529 overloaded, 500
    api_error), at the same fraction of the generation time.
    """

    type: ClassVar[str] = "sse_error"
    error_type: str = "overloaded_error"

    def check(self) -> None:
        super().check()
        if self.error_type not in SSE_ERROR_TYPES:
            raise FaultSpecError(
                f"sse_error: error_type must be one of {list(SSE_ERROR_TYPES)}, "
                f"got {self.error_type!r}"
            )

    def stream_ending(self, progress: Progress, due_s: float) -> float | None:
        return due_s if self.trips(progress) else None

    async def end_stream(self, out: StreamOutput) -> None:
        await out.send(wire.error_event(self.error_type))
        await out.end()

    def message_ending(self, finish_s: float) -> float | None:
        return self.at_fraction * finish_s

    async def end_message(self, out: MessageOutput) -> None:
        out.reject(_SSE_ERROR_STATUS[self.error_type])


REFUSAL_CATEGORIES = ("cyber", "bio", "frontier_llm", "reasoning_extraction", "general_harms")


@dataclass(frozen=True)
class Refusal(_AtFraction):
    """The model refuses: stop reason `refusal` with `stop_details`, after some text or none.

    At `at_fraction` of the answer's text (0: before any), the open block is closed and
    the message ends cleanly with `stop_reason: "refusal"` and `stop_details`
    `{type: "refusal", category, explanation}` (the SDK's `RefusalStopDetails`; category
    one of its literals or null). A non-streaming message carries the text up to there.
    """

    type: ClassVar[str] = "refusal"
    at_fraction: float = 0.0
    category: str | None = None
    explanation: str | None = None

    def check(self) -> None:
        super().check()
        if self.category is not None and self.category not in REFUSAL_CATEGORIES:
            raise FaultSpecError(
                f"refusal: category must be one of {list(REFUSAL_CATEGORIES)} or null, "
                f"got {self.category!r}"
            )

    @property
    def stop_details(self) -> dict[str, str | None]:
        return {"type": "refusal", "category": self.category, "explanation": self.explanation}

    def stream_ending(self, progress: Progress, due_s: float) -> float | None:
        return due_s if self.trips(progress) else None

    async def end_stream(self, out: StreamOutput) -> None:
        await out.stop("refusal", self.stop_details)

    def message_ending(self, finish_s: float) -> float | None:
        return self.at_fraction * finish_s

    async def end_message(self, out: MessageOutput) -> None:
        out.stop("refusal", self.stop_details, self.at_fraction)


@dataclass(frozen=True)
class Eof(_AtFraction):
    """End the stream cleanly at an event boundary, without `message_stop`.

    A non-streaming message is not affected (it has no events to stop between).
    """

    type: ClassVar[str] = "eof"

    def stream_ending(self, progress: Progress, due_s: float) -> float | None:
        return due_s if self.trips(progress) else None

    async def end_stream(self, out: StreamOutput) -> None:
        await out.end()


@dataclass(frozen=True)
class Stall(_AtFraction):
    """Send nothing for `stall_ms` (simulated), long enough to trip a read timeout.

    A non-streaming message arrives that much later.
    """

    type: ClassVar[str] = "stall"
    stall_ms: float = 60_000

    def check(self) -> None:
        super().check()
        check_positive(self, "stall_ms", self.stall_ms)

    def stream_hold_s(self, progress: Progress) -> float:
        return self.stall_ms / 1000 if self.trips(progress) else 0.0

    def message_hold_s(self) -> float:
        return self.stall_ms / 1000


@dataclass(frozen=True)
class Latency(Fault):
    """A slower first token: `latency_ms` more, plus up to `jitter_ms`."""

    type: ClassVar[str] = "latency"
    latency_ms: float = 5_000
    jitter_ms: float = 0

    def check(self) -> None:
        super().check()
        check_positive(self, "latency_ms", self.latency_ms, allow_zero=True)
        check_positive(self, "jitter_ms", self.jitter_ms, allow_zero=True)

    def first_token_delay_s(self, rng: random.Random) -> float:
        return (self.latency_ms + rng.uniform(0, self.jitter_ms)) / 1000


@dataclass(frozen=True)
class Bandwidth(Fault):
    """Slow tokens: at most `tokens_per_s` output tokens a second."""

    type: ClassVar[str] = "bandwidth"
    tokens_per_s: float = 20

    def check(self) -> None:
        super().check()
        check_positive(self, "tokens_per_s", self.tokens_per_s)

    def pace(self, tokens_per_s: float) -> float:
        return min(tokens_per_s, self.tokens_per_s)


@dataclass(frozen=True)
class Cutoff(Fault):
    """Close any connection, streaming or not, `after_s` simulated seconds after it arrived."""

    type: ClassVar[str] = "cutoff"
    after_s: float = 134

    def check(self) -> None:
        super().check()
        check_positive(self, "after_s", self.after_s)

    def stream_ending(self, progress: Progress, due_s: float) -> float | None:
        return self.after_s if due_s >= self.after_s else None

    async def end_stream(self, out: StreamOutput) -> None:
        await out.cut()

    def message_ending(self, finish_s: float) -> float | None:
        return self.after_s if self.after_s < finish_s else None

    async def end_message(self, out: MessageOutput) -> None:
        await out.cut()


_PROSE_BEFORE = "Here is the result you asked for:\n\n"
_PROSE_AFTER = "\n\nLet me know if you need changes."


@dataclass(frozen=True)
class Corrupt(Fault):
    """Damage the JSON content: drop closing brackets and wrap it in prose."""

    type: ClassVar[str] = "corrupt"
    drop_brackets: int = 1
    prose: bool = True

    def check(self) -> None:
        super().check()
        check_positive(self, "drop_brackets", self.drop_brackets, allow_zero=True)

    def shape_text(self, text: str) -> str:
        damaged = text
        for _ in range(self.drop_brackets):
            position = max(damaged.rfind("}"), damaged.rfind("]"))
            if position < 0:
                break
            damaged = damaged[:position] + damaged[position + 1 :]
        if self.prose:
            damaged = f"{_PROSE_BEFORE}{damaged}{_PROSE_AFTER}"
        return damaged


@dataclass(frozen=True)
class Continuation(Fault):
    """How the model writes a continuation turn on this request (a no-prefill resume).

    `style` is one of `planner.sim.conversation.STYLES`: `overlap` (10 to 60 characters
    repeated, the default without this fault), `none`, `short` (1 to 3 repeated),
    `preamble`, `fence`, `reword`. Requests that are not continuation turns ignore it.
    """

    type: ClassVar[str] = "continuation"
    style: str = "overlap"

    def check(self) -> None:
        super().check()
        if self.style not in STYLES:
            raise FaultSpecError(
                f"continuation: style must be one of {list(STYLES)}, got {self.style!r}"
            )

    def continuation_style(self) -> str | None:
        return self.style


__all__ = [
    "REGISTRY",
    "SSE_ERROR_TYPES",
    "Bandwidth",
    "Continuation",
    "Corrupt",
    "Cutoff",
    "Eof",
    "Fault",
    "HttpError",
    "Latency",
    "Refusal",
    "Reset",
    "SseError",
    "Stall",
]
