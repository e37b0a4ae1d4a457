"""Faults shaped like toxiproxy's toxics: one small class each, and a registry.

A fault holds its parameters (units in their names), a `toxicity` probability and the
request numbers it applies to (`on_requests`, 1-based per run key; None = every
request). It decides nothing about HTTP itself: the server asks each fired fault the
one question it answers (does the stream stop here? how long is the stall? which error
status?). Whether a fault fires is a seeded draw, so a run is reproducible.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass
from typing import Any, ClassVar

from planner.protocol import HTTP_ERROR_STATUSES, RunKey
from planner.sim.errors import FaultSpecError


@dataclass(frozen=True)
class Progress:
    """How far a response has got when a fault is asked whether it trips."""

    chars_sent: int
    total_chars: int
    bytes_sent: int
    elapsed_s: float  # simulated seconds since the request arrived


@dataclass(frozen=True)
class Fault:
    type: ClassVar[str] = ""
    toxicity: float = 1.0
    on_requests: tuple[int, ...] | None = None
    # Only requests whose run key has this scope (`RunKey.scope`), so a replayed failure
    # hits one stage of a generation only.
    on_scope: str | None = None

    def check(self) -> None:
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


def _positive(fault: Fault, name: str, value: float | None, allow_zero: bool = False) -> None:
    if value is not None and (value < 0 or (value == 0 and not allow_zero)):
        raise FaultSpecError(
            f"{fault.type}: {name} must be {'>= 0' if allow_zero else '> 0'}, got {value}"
        )


def _fraction(fault: Fault, name: str, value: float | None) -> None:
    if value is not None and not 0.0 <= value <= 1.0:
        raise FaultSpecError(f"{fault.type}: {name} must be between 0 and 1, got {value}")


@dataclass(frozen=True)
class _AtFraction(Fault):
    """A fault that happens once, at a fraction of the answer's characters."""

    at_fraction: float = 0.5

    def check(self) -> None:
        super().check()
        _fraction(self, "at_fraction", self.at_fraction)

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
        _fraction(self, "at_fraction", self.at_fraction)
        _positive(self, "after_bytes", self.after_bytes, allow_zero=True)
        _positive(self, "after_s", self.after_s, allow_zero=True)
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


SSE_ERROR_TYPES = ("overloaded_error", "api_error")


@dataclass(frozen=True)
class SseError(_AtFraction):
    """An `event: error` mid-stream, then the end of the stream."""

    type: ClassVar[str] = "sse_error"
    error_type: str = "overloaded_error"

    def check(self) -> None:
        super().check()
        if self.error_type not in SSE_ERROR_TYPES:
            raise FaultSpecError(
                f"sse_error: error_type must be one of {list(SSE_ERROR_TYPES)}, "
                f"got {self.error_type!r}"
            )


@dataclass(frozen=True)
class Eof(_AtFraction):
    """End the stream cleanly at an event boundary, without `message_stop`."""

    type: ClassVar[str] = "eof"


@dataclass(frozen=True)
class Stall(_AtFraction):
    """Send nothing for `stall_ms` (simulated), long enough to trip a read timeout."""

    type: ClassVar[str] = "stall"
    stall_ms: float = 60_000

    def check(self) -> None:
        super().check()
        _positive(self, "stall_ms", self.stall_ms)


@dataclass(frozen=True)
class HttpError(Fault):
    """An HTTP error before the stream starts, with the API's JSON error body."""

    type: ClassVar[str] = "http_error"
    status: int = 529
    retry_after_s: float | None = None
    retry_after_ms: float | None = None

    def check(self) -> None:
        super().check()
        if self.status not in HTTP_ERROR_STATUSES:
            raise FaultSpecError(
                f"http_error: status must be one of {list(HTTP_ERROR_STATUSES)}, got {self.status}"
            )
        _positive(self, "retry_after_s", self.retry_after_s, allow_zero=True)
        _positive(self, "retry_after_ms", self.retry_after_ms, allow_zero=True)


@dataclass(frozen=True)
class Latency(Fault):
    """A slower first token: `latency_ms` more, plus up to `jitter_ms`."""

    type: ClassVar[str] = "latency"
    latency_ms: float = 5_000
    jitter_ms: float = 0

    def check(self) -> None:
        super().check()
        _positive(self, "latency_ms", self.latency_ms, allow_zero=True)
        _positive(self, "jitter_ms", self.jitter_ms, allow_zero=True)


@dataclass(frozen=True)
class Bandwidth(Fault):
    """Slow tokens: at most `tokens_per_s` output tokens a second."""

    type: ClassVar[str] = "bandwidth"
    tokens_per_s: float = 20

    def check(self) -> None:
        super().check()
        _positive(self, "tokens_per_s", self.tokens_per_s)


@dataclass(frozen=True)
class Cutoff(Fault):
    """Close any connection, streaming or not, `after_s` simulated seconds after it arrived."""

    type: ClassVar[str] = "cutoff"
    after_s: float = 134

    def check(self) -> None:
        super().check()
        _positive(self, "after_s", self.after_s)


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
        _positive(self, "drop_brackets", self.drop_brackets, allow_zero=True)

    def apply(self, text: str) -> str:
        damaged = text
        for _ in range(self.drop_brackets):
            position = max(damaged.rfind("}"), damaged.rfind("]"))
            if position < 0:
                break
            damaged = damaged[:position] + damaged[position + 1 :]
        if self.prose:
            damaged = f"{_PROSE_BEFORE}{damaged}{_PROSE_AFTER}"
        return damaged


REGISTRY: dict[str, type[Fault]] = {
    cls.type: cls
    for cls in (Reset, SseError, Eof, Stall, HttpError, Latency, Bandwidth, Cutoff, Corrupt)
}
