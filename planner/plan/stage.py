"""One stage of a generation: a client.generate() call wired to its recording.

Chunks go to the recording (generation-wide seq, attempt numbers continued across
stages, t_ms since the generation started) and to the progress tracker; checkpoints and
attempts to the recording; recoveries, coalesced text deltas and progress ticks are
events the recording numbers, stores and publishes. The runner also keeps the
generation's running totals (attempts, tokens, tiers, cache).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from planner.events import Recovery, TextDelta, TokensProgress
from planner.llm.types import (
    AttemptRecord,
    Checkpoint,
    Chunk,
    GenerationResult,
    Progress,
    RecoveryNotice,
)
from planner.plan.cache import PromptCacheLedger
from planner.plan.endpoint import Endpoint, planner_headers
from planner.plan.progress import ProgressSnapshot, ProgressTracker
from planner.plan.settings import GenerationSettings
from planner.plan.spec import GenerationCancelled, GenerationFailed
from planner.store import GenerationSpec, Recording

TIER_SEVERITY = {"stream": 0, "resume": 1, "restart": 2, "nonstream": 3, "partial": 4, "failed": 5}


class StageRunner:
    def __init__(
        self,
        spec: GenerationSpec,
        *,
        recording: Recording,
        endpoint: Endpoint,
        cancel: threading.Event,
        elapsed_ms: Callable[[], int],
    ) -> None:
        self.spec = spec
        self.recording = recording
        self.endpoint = endpoint
        self.cancel = cancel
        self.elapsed_ms = elapsed_ms
        self.progress = ProgressTracker()
        self.ledger = PromptCacheLedger(spec.model)
        self._attempt_base = recording.next_attempt_number - 1
        self.current_attempt = self._attempt_base + 1
        self.attempts = 0
        self.output_tokens = 0
        self.wasted_output_tokens = 0
        self.output_budget_tokens = GenerationSettings.from_json(spec.settings).output_budget_tokens
        self.spent_before = 0  # output tokens an interrupted run spent before this process
        self.tiers: list[str] = []

    def budget_left(self) -> int | None:
        """Output tokens the generation may still spend (None: no budget): one budget for
        every stage and attempt, an interrupted run's spending included."""
        if self.output_budget_tokens is None:
            return None
        return self.output_budget_tokens - self.spent_before - self.output_tokens

    def run(
        self,
        client: Any,
        stage: str,
        request: dict[str, Any],
        *,
        resume_from: str | None = None,
        expected_tasks: int | None = None,
        run_key_stage: str | None = None,
    ) -> GenerationResult:
        """One client.generate() call, every callback wired to the record and the bus."""
        if self.cancel.is_set():
            raise GenerationCancelled
        budget_left = self.budget_left()
        if budget_left is not None and budget_left <= 0:
            raise GenerationFailed(
                f"the output budget of {self.output_budget_tokens:,} tokens is spent before "
                f"the {stage} stage",
                "failed",
            )
        base = self._attempt_base
        stage_start_ms = self.elapsed_ms()
        self.progress.start_stage(stage, expected_tasks=expected_tasks, text=resume_from or "")
        self.recording.update(stage=stage)
        recording = self.recording

        def on_chunk(chunk: Chunk) -> None:
            if self.cancel.is_set():
                raise GenerationCancelled
            self.current_attempt = base + chunk.attempt
            recording.add_chunk(
                attempt=base + chunk.attempt,
                stage=stage,
                char_offset=chunk.char_offset,
                chars=chunk.chars,
                t_ms=stage_start_ms + chunk.t_ms,
            )
            self.progress.add(chunk.char_offset, chunk.text)

        def on_checkpoint(checkpoint: Checkpoint) -> None:
            recording.checkpoint(stage, checkpoint.text)

        def on_progress(progress: Progress) -> None:
            self.progress.thinking(
                progress.thinking_tokens if progress.phase == "thinking" else None
            )
            self.tick()

        def on_recovery(notice: RecoveryNotice) -> None:
            if notice.decision == "give_up":
                return
            recording.emit(
                Recovery(
                    attempt=base + notice.attempt,
                    tier=notice.tier,
                    reason=f"{notice.failure}: {notice.message} ({notice.decision})",
                    resume_from_char=notice.resume_from_char,
                    decision=notice.decision,
                )
            )

        def on_attempt(record: AttemptRecord) -> None:
            self.attempts += 1
            recording.record_attempt(
                record,
                number=base + record.number,
                stage=stage,
                start_ms=stage_start_ms + record.start_ms,
                end_ms=None if record.end_ms is None else stage_start_ms + record.end_ms,
            )

        result = client.generate(
            request,
            resume_from=resume_from,
            extra_headers=planner_headers(
                self.endpoint,
                generation_id=self.spec.generation_id,
                stage=run_key_stage or stage,
                faults=self.spec.faults,
                seed=self.spec.seed,
                speed=self.spec.speed,
            ),
            on_chunk=on_chunk,
            on_checkpoint=on_checkpoint,
            on_progress=on_progress,
            on_recovery=on_recovery,
            on_attempt=on_attempt,
            output_budget_tokens=budget_left,
        )
        self._attempt_base += len(result.attempts)
        self.ledger.record(result.usage)
        self.output_tokens += result.usage.output_tokens
        self.wasted_output_tokens += result.wasted_output_tokens
        self.tiers.append(result.tier)
        self.tick()
        return result

    def tick(self) -> None:
        """Coalesced text delta and a progress event, and the row's live counters."""
        if delta := self.progress.take_delta():
            text, from_char = delta
            self.recording.emit(
                TextDelta(text=text, from_char=from_char, stage=self.progress.stage)
            )
        self.emit_progress(self.progress.snapshot())

    def emit_progress(self, snapshot: ProgressSnapshot) -> None:
        self.recording.emit(
            TokensProgress(
                tokens_received=snapshot.tokens_received,
                estimated_total=snapshot.estimated_total,
                percentage=snapshot.percentage,
                current_phase=snapshot.current_phase,
                chars=snapshot.chars,
                attempt=self.current_attempt,
                stage=snapshot.stage,
            )
        )
        self.recording.update(chars=snapshot.chars)

    def tier(self) -> str | None:
        """The most severe tier any stage ended with."""
        return max(self.tiers, key=lambda t: TIER_SEVERITY.get(t, 0), default=None)
