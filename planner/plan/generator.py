"""One generation: description → discovery → task count → MasterPlan → stored plan.

Both stages stream through the resilient client. Every chunk, checkpoint, attempt and
event is handed to the generation's recording as it happens; the recording numbers the
events, stores them and publishes them on the bus. The end is one step: the saved plan,
the final row values and the status commit together when the recording closes.
A complete answer that is invalid gets one repair round (recorded as its own attempts,
stage `discovery_repair` / `plan_repair`); a truncated answer kept by the `hybrid`
strategy is parsed as it is and fails like the original system failed on it.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar

from planner.config import get_settings
from planner.events import (
    Event,
    GenerationComplete,
    GenerationError,
    GenerationResumed,
    GenerationStart,
    ParsingComplete,
    Recovery,
    SavingStart,
    ValidationStart,
)
from planner.llm.types import GenerationResult
from planner.plan import persist
from planner.plan.endpoint import endpoint_for, make_generation_client
from planner.plan.parse import PlanParseError, check_masterplan, load_masterplan, parse_discovery
from planner.plan.prompts import (
    discovery_request,
    masterplan_request,
    repair_request,
    task_count_for,
)
from planner.plan.request import GenerationOutcome
from planner.plan.schema import Discovery, MasterPlan
from planner.plan.settings import GenerationSettings
from planner.plan.spec import CANCELLED_MESSAGE, GenerationCancelled, GenerationFailed
from planner.plan.stage import StageRunner
from planner.store import (
    GenerationSpec,
    GenerationStatus,
    LeaseLost,
    Recording,
    RecordingError,
    ResumePoint,
)

__all__ = ["CANCELLED_MESSAGE", "GenerationCancelled", "GenerationFailed", "GenerationRun"]

log = logging.getLogger(__name__)

T = TypeVar("T")

REPAIR_STAGE = {"discovery": "discovery_repair", "masterplan": "plan_repair"}
TIER_SEVERITY = {"stream": 0, "resume": 1, "restart": 2, "nonstream": 3, "partial": 4, "failed": 5}


class GenerationRun:
    """Runs (or resumes) one generation and records it; `execute()` returns the outcome."""

    def __init__(
        self,
        spec: GenerationSpec,
        *,
        recording: Recording,
        cancel: threading.Event | None = None,
        now: Callable[[], datetime],
    ) -> None:
        self.spec = spec
        self.settings = GenerationSettings.from_json(spec.settings)
        self.recording = recording
        self.cancel = cancel or threading.Event()
        self._now = now
        self.endpoint = endpoint_for(get_settings(), faults=spec.faults)
        self.stages = StageRunner(
            spec,
            recording=recording,
            endpoint=self.endpoint,
            cancel=self.cancel,
            elapsed_ms=self.elapsed_ms,
        )
        self._clock_origin_ms = int((now() - spec.started_at).total_seconds() * 1000)
        self._clock_start = time.monotonic()

    # -- the whole generation -----------------------------------------------------------
    def execute(self, resume: ResumePoint | None = None) -> GenerationOutcome:
        client = make_generation_client(
            self.endpoint, strategy=self.spec.strategy, speed=self.spec.speed
        )
        status, error, plan, masterplan_id = GenerationStatus.FAILED, None, None, None
        save_plan, lost = None, None
        if resume is not None:  # the output budget counts what the earlier runs spent
            self.stages.spent_before = resume.previous_output_tokens
        try:
            self._announce(resume)
            discovery, discovery_id = self._discovery(client, resume)
            plan = self._masterplan(client, discovery, resume)
            masterplan_id, save_plan = self._save(plan, discovery_id)
            status = GenerationStatus.COMPLETED
        except LeaseLost as exc:
            lost = exc  # another runner owns the generation now: write nothing more
        except GenerationFailed as exc:
            error = exc.message
            self.stages.tiers.append(exc.tier or "failed")
        except GenerationCancelled:
            error = CANCELLED_MESSAGE
        except KeyboardInterrupt:
            status, error = (
                GenerationStatus.INTERRUPTED,
                (f"interrupted; continue with `planner resume {self.spec.generation_id}`"),
            )
            raise
        except Exception as exc:
            log.exception("generation %s failed unexpectedly", self.spec.generation_id)
            error = f"internal error: {type(exc).__name__}: {exc}"
        finally:
            client.close()
            if lost is not None or self.recording.lost is not None:
                self.recording.abandon()
                raise lost or self.recording.lost
            terminal = None
            if status != GenerationStatus.INTERRUPTED:
                terminal = self._terminal_event(status, plan, masterplan_id, error)
            outcome = self._outcome(status, plan, masterplan_id, error, resume)
            outcome = self._close_record(outcome, resume, save_plan, terminal)
        return outcome

    def _announce(self, resume: ResumePoint | None) -> None:
        # A resumed generation whose first process died before its first write has no
        # start event stored: it gets one now (issue 17.9).
        if resume is None or resume.positions.next_event_seq == 1:
            self.recording.emit(
                GenerationStart(
                    description=self.spec.description,
                    strategy=self.spec.strategy,
                    faults=self.spec.faults,
                    model=self.spec.model,
                    stage="discovery",
                )
            )
        if resume is None:
            return
        resume_from_char = len(resume.stage_text or "")
        self.recording.emit(
            GenerationResumed(
                resume_from_char=resume_from_char, attempt=self.stages.current_attempt
            )
        )
        self.recording.emit(
            Recovery(
                attempt=self.stages.current_attempt,
                tier="resume",
                reason="process_interrupted: the generation continues in a new process",
                resume_from_char=len(resume.stage_text or ""),
                decision="resume",
            )
        )

    # -- stages ------------------------------------------------------------------------
    def _discovery(
        self, client: Any, resume: ResumePoint | None
    ) -> tuple[Discovery, uuid.UUID | None]:
        if resume is not None and resume.discovery_json is not None:
            discovery = Discovery.model_validate(resume.discovery_json)
            self.stages.progress.start_stage("discovery")
            self.stages.progress.add(0, discovery.model_dump_json())
            return discovery, resume.discovery_id
        request = discovery_request(self.spec.description, self.spec.model, self.settings)
        resume_text = resume.stage_text if resume is not None else None
        result = self.stages.run(client, "discovery", request, resume_from=resume_text)
        discovery = self._parse_with_repair(client, "discovery", request, result, parse_discovery)
        discovery_id = uuid.uuid4()
        # Stored with the recording's next batch: the discovery document and the row's
        # move to the MasterPlan stage commit together, after the discovery's checkpoints.
        self.recording.with_next_batch(
            functools.partial(
                persist.save_discovery,
                discovery=discovery,
                user_id=self.spec.user_id,
                generation_id=self.spec.generation_id,
                description=self.spec.description,
                task_count=task_count_for(discovery),
                discovery_id=discovery_id,
            ),
            discovery_json=discovery.model_dump(mode="json"),
            stage="masterplan",
        )
        self.recording.clear_checkpoint()
        self.recording.flush_soon()  # written while the MasterPlan streams
        return discovery, discovery_id

    def _masterplan(
        self, client: Any, discovery: Discovery, resume: ResumePoint | None
    ) -> MasterPlan:
        task_count = task_count_for(discovery)
        request = masterplan_request(
            self.spec.description, discovery, task_count, self.spec.model, self.settings
        )
        resume_text = None
        if resume is not None and resume.discovery_json is not None:
            resume_text = resume.stage_text
        result = self.stages.run(
            client, "masterplan", request, resume_from=resume_text, expected_tasks=task_count
        )
        self.recording.flush_soon()  # written while the answer is parsed, not after
        return self._parse_with_repair(client, "masterplan", request, result, self._check_plan)

    def _check_plan(self, text: str) -> MasterPlan:
        plan = load_masterplan(text)
        counts = plan.counts()
        self.recording.emit(
            ParsingComplete(
                total_phases=counts["phases"],
                total_milestones=counts["milestones"],
                total_tasks=counts["tasks"],
            )
        )
        self.recording.emit(ValidationStart())
        return check_masterplan(plan)

    def _parse_with_repair(
        self,
        client: Any,
        stage: str,
        request: dict[str, Any],
        result: GenerationResult,
        parser: Callable[[str], T],
    ) -> T:
        what = "discovery" if stage == "discovery" else "MasterPlan"
        self._require_answer(what, result)
        try:
            return parser(result.text)
        except PlanParseError as exc:
            if not result.complete:
                raise GenerationFailed(
                    f"the {what} stream broke off after {len(result.text):,} characters and "
                    f"the {result.tier} answer kept ({result.error}) is not usable: {exc}",
                    result.tier,
                ) from None
            first = exc
        self.stages.wasted_output_tokens += result.usage.output_tokens
        repair = repair_request(request, result.text, first.errors)
        repaired = self.stages.run(client, REPAIR_STAGE[stage], repair, run_key_stage=stage)
        self._require_answer(what, repaired, repair_round=True)
        try:
            return parser(repaired.text)
        except PlanParseError as exc:
            raise GenerationFailed(
                f"{exc} (still invalid after one repair round; the first answer had: "
                f"{'; '.join(first.errors[:5])})",
                repaired.tier,
            ) from None

    def _require_answer(
        self, what: str, result: GenerationResult, *, repair_round: bool = False
    ) -> None:
        """A complete answer, or a partial one kept by `hybrid`; anything else fails."""
        if result.complete or (result.tier == "partial" and result.text):
            return
        round_name = " repair round" if repair_round else ""
        raise GenerationFailed(
            f"the {what}{round_name} request failed after {len(result.attempts)} attempt(s): "
            f"{result.error or 'no complete answer'}",
            result.tier,
        )

    # -- the end -----------------------------------------------------------------------
    def _save(
        self, plan: MasterPlan, discovery_id: uuid.UUID | None
    ) -> tuple[uuid.UUID, Callable[[Any], uuid.UUID]]:
        """The plan's id and its rows' write, which the recording's close commits together
        with the generation's final values and status."""
        self.recording.emit(SavingStart(total_entities=persist.total_entities(plan)))
        masterplan_id = uuid.uuid4()
        save_plan = functools.partial(
            persist.save_masterplan,
            plan=plan,
            user_id=self.spec.user_id,
            generation_id=self.spec.generation_id,
            discovery_id=discovery_id,
            masterplan_id=masterplan_id,
        )
        self.stages.emit_progress(self.stages.progress.complete())
        return masterplan_id, save_plan

    def _terminal_event(
        self,
        status: str,
        plan: MasterPlan | None,
        masterplan_id: uuid.UUID | None,
        error: str | None,
    ) -> Event:
        if status == GenerationStatus.COMPLETED and plan is not None:
            counts = plan.counts()
            return GenerationComplete(
                masterplan_id=str(masterplan_id),
                project_name=plan.project_name,
                total_phases=counts["phases"],
                total_milestones=counts["milestones"],
                total_tasks=counts["tasks"],
                duration_seconds=round(self._duration_s(), 3),
                output_tokens=self.stages.output_tokens,
            )
        return GenerationError(message=error or "failed", tier=self.stages.tier() or "")

    def _duration_s(self) -> float:
        return (self._now() - self.spec.started_at).total_seconds()

    def elapsed_ms(self) -> int:
        return self._clock_origin_ms + int((time.monotonic() - self._clock_start) * 1000)

    def _outcome(
        self,
        status: str,
        plan: MasterPlan | None,
        masterplan_id: uuid.UUID | None,
        error: str | None,
        resume: ResumePoint | None,
    ) -> GenerationOutcome:
        counts = (
            plan.counts()
            if plan is not None
            else dict.fromkeys(("phases", "milestones", "tasks", "subtasks"), 0)
        )
        previous = resume or ResumePoint(None, None, None)
        return GenerationOutcome(
            generation_id=self.spec.generation_id,
            masterplan_id=masterplan_id,
            status=status,
            strategy=self.spec.strategy,
            tier=self.stages.tier(),
            attempts=previous.previous_attempts + self.stages.attempts,
            output_tokens=previous.previous_output_tokens + self.stages.output_tokens,
            wasted_output_tokens=previous.previous_wasted_tokens + self.stages.wasted_output_tokens,
            duration_s=self._duration_s(),
            phases=counts["phases"],
            milestones=counts["milestones"],
            tasks=counts["tasks"],
            subtasks=counts["subtasks"],
            error=error,
            prompt_cache=self.stages.ledger.to_json(),
            settings=self.settings.to_json(),
        )

    def _close_record(
        self,
        outcome: GenerationOutcome,
        resume: ResumePoint | None,
        save_plan: Callable[[Any], uuid.UUID] | None,
        terminal: Event | None,
    ) -> GenerationOutcome:
        """Store the rest, the terminal event, the final values and (completed) the plan
        in one transaction.

        A plan that cannot be stored fails the generation: the error is recorded with the
        failed status, and the outcome says so.
        """
        try:
            self.recording.close(
                write=save_plan,
                events=(terminal,) if terminal is not None else (),
                **self._final_values(outcome, resume),
            )
            return outcome
        except RecordingError as exc:
            if save_plan is None:
                raise
            log.exception("generation %s: the plan could not be stored", self.spec.generation_id)
            failed = replace(
                outcome,
                status=GenerationStatus.FAILED,
                masterplan_id=None,
                error=f"the plan could not be stored: {exc}",
                phases=0,
                milestones=0,
                tasks=0,
                subtasks=0,
            )
            error = GenerationError(message=failed.error or "", tier=failed.tier or "")
            self.recording.close(events=(error,), **self._final_values(failed, resume))
            return failed

    def _final_values(
        self, outcome: GenerationOutcome, resume: ResumePoint | None
    ) -> dict[str, Any]:
        return {
            "status": outcome.status,
            "tier": outcome.tier,
            "error": outcome.error,
            "finished_at": (
                self._now() if outcome.status != GenerationStatus.INTERRUPTED else None
            ),
            "duration_s": outcome.duration_s,
            "attempts": outcome.attempts,
            "input_tokens": self.stages.ledger.input_tokens
            + (resume.previous_input_tokens if resume is not None else 0),
            "output_tokens": outcome.output_tokens,
            "wasted_output_tokens": outcome.wasted_output_tokens,
            "cache_creation_input_tokens": self.stages.ledger.cache_creation_input_tokens,
            "cache_read_input_tokens": self.stages.ledger.cache_read_input_tokens,
        }
