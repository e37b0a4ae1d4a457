"""Real progress of a generation, counted from the chunks that arrived.

Tokens are counted from each chunk's text with planner's tokenizer. The total is an
estimate: a discovery answer of typical size plus a MasterPlan of the expected number of
tasks. While the plan streams, the tasks already written tell how many tokens a task
really takes, and the estimate of what is left is refined from that. The percentage
never goes backwards (a rewind after a failure or a longer-than-expected plan only slows
it down) and reaches 100 only when the generation is complete. `current_phase` is read
from the partial JSON.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from planner.tokens import count_tokens

DISCOVERY_TOKENS_PRIOR = 700
PLAN_HEADER_TOKENS_PRIOR = 300
TOKENS_PER_TASK_PRIOR = 260
EXPECTED_TASKS_PRIOR = 30
PRIOR_WEIGHT_TASKS = 2.0
MAX_PERCENT_BEFORE_DONE = 99.0

_TASK = re.compile(r'"task_number"\s*:')
_PHASE = re.compile(r'"phase_number"\s*:\s*(\d+)')
_NAME = re.compile(r'"name"\s*:\s*"((?:[^"\\]|\\.){0,120})"')
_KEY_LOOKBACK = 32


@dataclass(frozen=True)
class ProgressSnapshot:
    tokens_received: int
    estimated_total: int
    percentage: float
    current_phase: str
    chars: int
    stage: str


class ProgressTracker:
    """Follows one generation through its stages; fed chunk by chunk, read at each tick."""

    def __init__(self) -> None:
        self.stage = "discovery"
        self._tokens_before_stage = 0
        self._stage_tokens = 0
        self._expected_tasks: int | None = None
        self._text = ""
        self._pending: list[str] = []
        self._scanned = 0
        self._task_scan_from = self._phase_scan_from = 0
        self._tasks_seen = 0
        self._tokens_at_first_task: int | None = None
        self._phase_label = ""
        self._percentage = 0.0
        self._delta_from = 0
        self.thinking_tokens: int | None = None  # the model is thinking (no text yet)

    # -- feeding -------------------------------------------------------------------
    def start_stage(self, stage: str, *, expected_tasks: int | None = None, text: str = "") -> None:
        """A new stage; `text` is what a resumed stage already has."""
        self._tokens_before_stage += self._stage_tokens
        self.stage = stage
        if expected_tasks is not None:
            self._expected_tasks = expected_tasks
        self._text, self._pending, self._scanned = "", [], 0
        self._task_scan_from = self._phase_scan_from = 0
        self._tasks_seen, self._tokens_at_first_task, self._phase_label = 0, None, ""
        self._stage_tokens = 0
        self._delta_from = 0
        self.thinking_tokens = None
        if text:
            self.add(0, text)

    def thinking(self, tokens: int | None) -> None:
        """The model thinks before its text (`tokens` so far), or None once text comes: the
        phase then reads `thinking`, so a thinking model never looks stuck at 0 %."""
        self.thinking_tokens = tokens

    def add(self, char_offset: int, text: str) -> None:
        """One chunk's text, placed at `char_offset` of the stage text."""
        if char_offset != self.chars:
            self._rewind(char_offset)
        self._pending.append(text)
        self._stage_tokens += count_tokens(text)

    def _rewind(self, char_offset: int) -> None:
        """A restart or an overlap-trimmed continuation: keep the text up to the offset."""
        self._consolidate()
        self._text = self._text[:char_offset]
        self._stage_tokens = count_tokens(self._text)
        self._scanned = self._task_scan_from = self._phase_scan_from = 0
        self._tasks_seen, self._tokens_at_first_task = 0, None
        self._delta_from = min(self._delta_from, char_offset)
        self._scan()

    # -- reading -------------------------------------------------------------------
    @property
    def chars(self) -> int:
        return len(self._text) + sum(map(len, self._pending))

    @property
    def text(self) -> str:
        self._consolidate()
        return self._text

    def take_delta(self) -> tuple[str, int] | None:
        """The text added since the last call, and where it starts; None if nothing new."""
        self._consolidate()
        if self._delta_from >= len(self._text):
            return None
        start = self._delta_from
        self._delta_from = len(self._text)
        return self._text[start:], start

    def snapshot(self) -> ProgressSnapshot:
        self._consolidate()
        self._scan()
        received = self._tokens_before_stage + self._stage_tokens
        total = max(self._estimated_total(), received)
        percentage = min(MAX_PERCENT_BEFORE_DONE, 100.0 * received / total) if total else 0.0
        self._percentage = max(self._percentage, round(percentage, 1))
        return ProgressSnapshot(
            tokens_received=received,
            estimated_total=total,
            percentage=self._percentage,
            current_phase=self._current_phase(),
            chars=len(self._text),
            stage=self.stage,
        )

    def complete(self) -> ProgressSnapshot:
        """The final snapshot of a finished generation: 100 %, the total is what came."""
        self._consolidate()
        received = self._tokens_before_stage + self._stage_tokens
        self._percentage = 100.0
        return ProgressSnapshot(received, received, 100.0, "complete", len(self._text), self.stage)

    # -- estimation ----------------------------------------------------------------
    def _consolidate(self) -> None:
        if self._pending:
            self._text += "".join(self._pending)
            self._pending = []

    def _scan(self) -> None:
        # A key can straddle two scans: look back a little, never recount a match.
        start = max(self._task_scan_from, self._scanned - _KEY_LOOKBACK)
        for match in _TASK.finditer(self._text, start):
            self._tasks_seen += 1
            self._task_scan_from = match.end()
            if self._tokens_at_first_task is None:
                self._tokens_at_first_task = count_tokens(self._text[: match.start()])
        start = min(self._phase_scan_from, max(0, self._scanned - _KEY_LOOKBACK))
        phases = list(_PHASE.finditer(self._text, start))
        if phases:
            last = phases[-1]
            self._phase_scan_from = last.start()
            name = _NAME.search(self._text, last.end(), last.end() + 400)
            number = last.group(1)
            self._phase_label = f"Phase {number}: {name.group(1)}" if name else f"Phase {number}"
        else:
            self._phase_scan_from = max(0, self._scanned - _KEY_LOOKBACK)
        self._scanned = len(self._text)

    def _tokens_per_task(self) -> float:
        if self._tokens_at_first_task is None or self._tasks_seen < 2:
            return TOKENS_PER_TASK_PRIOR
        observed = (self._stage_tokens - self._tokens_at_first_task) / (self._tasks_seen - 0.5)
        weight = self._tasks_seen - 1
        return (TOKENS_PER_TASK_PRIOR * PRIOR_WEIGHT_TASKS + observed * weight) / (
            PRIOR_WEIGHT_TASKS + weight
        )

    def _plan_estimate(self) -> float:
        expected = self._expected_tasks or EXPECTED_TASKS_PRIOR
        if self.stage == "discovery":
            return PLAN_HEADER_TOKENS_PRIOR + expected * TOKENS_PER_TASK_PRIOR
        remaining = max(expected - self._tasks_seen + 0.5, 0.5)
        if self._tokens_at_first_task is None:
            return (
                max(PLAN_HEADER_TOKENS_PRIOR, self._stage_tokens) + expected * TOKENS_PER_TASK_PRIOR
            )
        return self._stage_tokens + remaining * self._tokens_per_task()

    def _estimated_total(self) -> int:
        if self.stage == "discovery":
            discovery = max(DISCOVERY_TOKENS_PRIOR, self._stage_tokens * 1.1)
            return int(discovery + self._plan_estimate())
        return int(self._tokens_before_stage + self._plan_estimate())

    def _current_phase(self) -> str:
        if self.thinking_tokens is not None:
            return f"{self.stage}: thinking ({self.thinking_tokens:,} tokens)"
        if self.stage == "discovery":
            return "discovery"
        if self.stage.endswith("repair"):
            return "repair"
        return self._phase_label or "overview"
