"""The answer as it grows, and the callbacks that watch it.

`Timeline` holds the text kept so far (always the prefix of the final text the current
attempt writes on), numbers the chunks, and fires the chunk, checkpoint and progress
callbacks. It is cheap per chunk: text is kept as a list of pieces and only joined for a
checkpoint, and tokens are counted only for the text added since the last progress report.
While the model thinks, progress reports say so (`phase="thinking"`, with the thinking
tokens so far), so a front end never shows a dead 0% through a long think.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from planner.llm.types import Checkpoint, Chunk, Phase, Progress, new_chunk
from planner.tokens import count_tokens


@dataclass(frozen=True)
class Callbacks:
    on_chunk: Callable[[Chunk], None] | None = None
    on_checkpoint: Callable[[Checkpoint], None] | None = None
    on_progress: Callable[[Progress], None] | None = None


class Timeline:
    def __init__(
        self,
        *,
        clock: Callable[[], float],
        started_at: float,
        callbacks: Callbacks,
        checkpoint_every_chars: int,
        progress_every_chunks: int,
        initial_text: str = "",
    ) -> None:
        self._clock = clock
        self._started_at = started_at
        self._callbacks = callbacks
        self._on_chunk = callbacks.on_chunk
        self._checkpoint_every_chars = max(1, checkpoint_every_chars)
        self._progress_every_chunks = max(1, progress_every_chunks)
        self._parts: list[str] = [initial_text] if initial_text else []
        self.length = len(initial_text)
        self.seq = 0
        self.attempt = 0
        self._next_checkpoint_at = self.length + self._checkpoint_every_chars
        self._last_checkpoint_length = self.length
        self._tokens_counted = count_tokens(initial_text)
        self._tokens_counted_to = self.length
        self._chunks_since_progress = 0
        self.phase: Phase = "waiting"
        self._thinking_tokens = 0
        self._thinking_tokens_base = 0

    @property
    def text(self) -> str:
        if len(self._parts) > 1:
            self._parts = ["".join(self._parts)]
        return self._parts[0] if self._parts else ""

    def elapsed_ms(self) -> int:
        return int((self._clock() - self._started_at) * 1000)

    def start_attempt(self, attempt: int, kept_text: str) -> None:
        """A new attempt writes on after `kept_text` (a prefix of the text so far, or "")."""
        self.attempt = attempt
        self.phase = "waiting"
        self._thinking_tokens_base = self.thinking_tokens()
        self._thinking_tokens = 0
        if kept_text != self.text:
            self._parts = [kept_text] if kept_text else []
            self.length = len(kept_text)
            self._tokens_counted = count_tokens(kept_text)
            self._tokens_counted_to = self.length
            self._next_checkpoint_at = self.length + self._checkpoint_every_chars
        self.progress()

    def thinking_tokens(self) -> int:
        """Thinking tokens of all attempts so far (this attempt's estimated from its text)."""
        return self._thinking_tokens_base + self._thinking_tokens

    def think(self, delta: str) -> None:
        """A thinking delta ("" when a thinking block starts; omitted thinking has none)."""
        first = self.phase != "thinking"
        self.phase = "thinking"
        if delta:
            self._thinking_tokens += count_tokens(delta)
        self._chunks_since_progress += 1
        if first or self._chunks_since_progress >= self._progress_every_chunks:
            self.progress()

    def append(self, delta: str) -> None:
        # Runs once per delta (thousands per answer): locals, no helper calls on the way.
        if not delta:
            return
        if self.phase != "text":
            if self.phase == "thinking":
                # The first text after a think: say so at once (the thinking phase is over).
                self._chunks_since_progress = self._progress_every_chunks - 1
            self.phase = "text"
        length = self.length
        chars = len(delta)
        if self._on_chunk is not None:
            t_ms = int((self._clock() - self._started_at) * 1000)
            self._on_chunk(new_chunk(self.attempt, self.seq, length, chars, t_ms, delta))
        self.seq += 1
        self._parts.append(delta)
        self.length = length = length + chars
        if length >= self._next_checkpoint_at:
            self.checkpoint()
        self._chunks_since_progress += 1
        if self._chunks_since_progress >= self._progress_every_chunks:
            self.progress()

    def discard(self) -> None:
        """Drop all the text (a refusal's partial answer must not be used): the checkpoint
        says so at once, so a resumed generation does not continue from it."""
        self.start_attempt(self.attempt, "")
        self._last_checkpoint_length = -1
        self.checkpoint()

    def replace(self, text: str) -> None:
        """A whole answer that arrived at once (a non-streaming call)."""
        self.start_attempt(self.attempt, "")
        self.append(text)

    def checkpoint(self) -> None:
        """Report the text so far (also when an attempt ends, so a crash loses nothing)."""
        self._next_checkpoint_at = self.length + self._checkpoint_every_chars
        if self.length == self._last_checkpoint_length or self._callbacks.on_checkpoint is None:
            return
        self._last_checkpoint_length = self.length
        self._callbacks.on_checkpoint(Checkpoint(self.text))

    def output_tokens(self) -> int:
        """Approximate tokens in the text so far, counting only what is new since last time."""
        if self.length > self._tokens_counted_to:
            self._tokens_counted += count_tokens(self.text[self._tokens_counted_to :])
            self._tokens_counted_to = self.length
        return self._tokens_counted

    def progress(self) -> None:
        self._chunks_since_progress = 0
        if self._callbacks.on_progress is None:
            return
        self._callbacks.on_progress(
            Progress(
                self.attempt,
                self.seq,
                self.length,
                self.output_tokens(),
                self.elapsed_ms(),
                self.phase,
                self.thinking_tokens(),
            )
        )
