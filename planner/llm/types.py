"""What the resilient client reports: chunks, checkpoints, progress, recoveries, attempts
and the final result. Plain frozen data, so the generator can record it and tests can
compare it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Tier = Literal["stream", "partial", "nonstream", "restart", "resume", "failed"]
AttemptKind = Literal["stream", "nonstream", "resume", "continue"]


@dataclass(frozen=True, slots=True)
class Chunk:
    """One text delta as it arrived: where it sits in the final text and when.

    (slots: one is made per delta, and a frozen dataclass with slots builds twice as fast;
    `new_chunk` below halves that again.)
    """

    attempt: int
    seq: int
    char_offset: int
    chars: int
    t_ms: int
    text: str


_new_object = object.__new__
(
    _set_attempt,
    _set_seq,
    _set_char_offset,
    _set_chars,
    _set_t_ms,
    _set_text,
) = (Chunk.__dict__[name].__set__ for name in Chunk.__slots__)


def new_chunk(attempt: int, seq: int, char_offset: int, chars: int, t_ms: int, text: str) -> Chunk:
    """`Chunk(...)` at half the cost, for the client's per-delta path.

    A frozen dataclass's `__init__` sets each field through `object.__setattr__`; setting
    the slots directly builds the same object (equal, hashable, still frozen afterwards).
    """
    chunk = _new_object(Chunk)
    _set_attempt(chunk, attempt)
    _set_seq(chunk, seq)
    _set_char_offset(chunk, char_offset)
    _set_chars(chunk, chars)
    _set_t_ms(chunk, t_ms)
    _set_text(chunk, text)
    return chunk


@dataclass(frozen=True)
class Checkpoint:
    """Text received so far; enough to continue the generation in another process."""

    text: str

    @property
    def offset(self) -> int:
        return len(self.text)


Phase = Literal["waiting", "thinking", "text"]


@dataclass(frozen=True)
class Progress:
    """How far the answer is. `phase` says what the model is doing now: `waiting` for the
    first event, `thinking` (no text yet, `thinking_tokens` growing: a front end shows a
    thinking phase, not 0%), or writing `text`."""

    attempt: int
    chunks: int
    chars: int
    output_tokens: int
    elapsed_ms: int
    phase: Phase = "text"
    thinking_tokens: int = 0


@dataclass(frozen=True)
class RecoveryNotice:
    """A failure and what the strategy decided to do about it."""

    attempt: int
    failure: str
    message: str
    decision: Literal[
        "retry",
        "resume",
        "continue",
        "nonstream",
        "partial",
        "give_up",
        "raise_max_tokens",
        "lower_effort",
        "discard",
    ]
    tier: Tier
    resume_from_char: int
    wait_s: float


@dataclass
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    """All output tokens, thinking included (what is billed)."""
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    thinking_tokens: int = 0
    """The part of `output_tokens` spent thinking (`output_tokens_details.thinking_tokens`;
    estimated from the thinking text when the attempt died before the server said)."""
    cache_creation_1h_input_tokens: int = 0
    """The part of `cache_creation_input_tokens` written with the 1-hour TTL."""


@dataclass
class AttemptRecord:
    number: int
    kind: AttemptKind
    start_ms: int
    end_ms: int | None = None
    resume_from_char: int = 0
    """Where in the answer the reply this attempt read begins: the kept text's end, less
    what a continuation wrote of it again (0 for a fresh stream)."""
    chars: int = 0
    """Characters of that reply received (a continuation's repeat included, a preamble or
    fence it opened with not), so a replay can cut the same reply at the same place."""
    input_tokens: int = 0
    output_tokens: int = 0
    stop_reason: str | None = None
    error_type: str | None = None
    error_message: str | None = None
    request_id: str | None = None
    thinking_tokens: int | None = 0
    """Of `output_tokens`, those spent thinking, as the server reported them or counted
    from the thinking text received; None when not known: the attempt thought with its
    thinking omitted (`display: omitted`) and died before the server said how much."""
    http_status: int | None = None
    """The HTTP status the attempt got (200 for a stream that started; None: no response)."""
    rate_limit: dict[str, str] = field(default_factory=dict)
    """The response's `anthropic-ratelimit-*` headers (and `retry-after`), as sent."""
    max_tokens: int | None = None
    """The `max_tokens` this attempt was sent with (the budget left may lower it)."""
    decision: str | None = None
    """What the strategy decided after this attempt failed (`RecoveryNotice.decision`)."""
    seam: str | None = None
    """How a continuation was joined: exact, repeat, preamble, fence, reworded, fallback
    (`planner.llm.seams`); None for other attempts."""


@dataclass
class GenerationResult:
    text: str
    tier: Tier
    complete: bool
    attempts: list[AttemptRecord] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    wasted_output_tokens: int = 0
    duration_s: float = 0.0
    stop_reason: str | None = None
    error: str | None = None
    error_type: str | None = None
    """The `kind` of the planner.llm.errors failure that ended an incomplete generation."""
    wasted_thinking_tokens: int = 0
    """Of `wasted_output_tokens`, thinking that no kept text came from."""
    output_budget_tokens: int | None = None
    adjustments: list[str] = field(default_factory=list)
    """Changes made to the request on the way (e.g. more max_tokens after the model ran
    out while thinking), in words."""
    estimated_cost_usd: float | None = None
    """What the usage costs on the catalogued model (None: model or prices unknown)."""
    estimated_saving_usd: float | None = None
    """What prompt caching saved against sending the same prompts uncached."""
