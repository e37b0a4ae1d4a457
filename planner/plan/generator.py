"""One generation: description → discovery → task count → MasterPlan → stored plan.

Both stages stream through the resilient client. Every chunk, checkpoint, attempt and
event is handed to the generation's recorder as it happens; events are numbered by
`GenerationEvents` and go out on the bus, where the recorder stores each under its seq.
A complete answer that is invalid gets one repair round (recorded as its own attempts,
stage `discovery_repair` / `plan_repair`); a truncated answer kept by the `hybrid`
strategy is parsed as it is and fails like the original system failed on it.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from planner.config import get_settings
from planner.events import (
    EventBus,
    GenerationComplete,
    GenerationError,
    GenerationEvents,
    GenerationStart,
    ParsingComplete,
    Recovery,
    SavingStart,
    ValidationStart,
)
from planner.llm.types import GenerationResult
from planner.plan import persist
from planner.plan.dbhold import held_open
from planner.plan.endpoint import endpoint_for, make_generation_client
from planner.plan.parse import PlanParseError, check_masterplan, load_masterplan, parse_discovery
from planner.plan.prompts import (
    discovery_request,
    masterplan_request,
    repair_request,
    task_count_for,
)
from planner.plan.recorder import GenerationRecorder
from planner.plan.request import GenerationOutcome
from planner.plan.schema import Discovery, MasterPlan
from planner.plan.spec import (
    CANCELLED_MESSAGE,
    GenerationCancelled,
    GenerationFailed,
    GenerationSpec,
    ResumePoint,
)
from planner.plan.stage import StageRunner

__all__ = [
    "CANCELLED_MESSAGE",
    "GenerationCancelled",
    "GenerationFailed",
    "GenerationRun",
    "GenerationSpec",
    "ResumePoint",
]

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
        recorder: GenerationRecorder,
        bus: EventBus,
        database_url: str | None,
        cancel: threading.Event | None = None,
        now: Callable[[], datetime],
    ) -> None:
        self.spec = spec
        self.recorder = recorder
        self.bus = bus
        self.database_url = database_url
        self.cancel = cancel or threading.Event()
        self._now = now
        self.events = GenerationEvents(bus, spec.generation_id, recorder.next_event_seq)
        self.endpoint = endpoint_for(get_settings(), faults=spec.faults)
        self.stages = StageRunner(
            spec,
            recorder=recorder,
            events=self.events,
            endpoint=self.endpoint,
            cancel=self.cancel,
            elapsed_ms=self.elapsed_ms,
        )
        self._clock_origin_ms = int((now() - spec.started_at).total_seconds() * 1000)
        self._clock_start = time.monotonic()
        # The recorder's mark for the stored discovery (None: wait for everything).
        self._discovery_stored: int | None = None

    # -- the whole generation -----------------------------------------------------------
    def execute(self, resume: ResumePoint | None = None) -> GenerationOutcome:
        subscription = self.bus.subscribe(self.recorder.on_event, self.spec.generation_id)
        client = make_generation_client(
            self.endpoint, strategy=self.spec.strategy, speed=self.spec.speed
        )
        status, error, plan, masterplan_id = "failed", None, None, None
        finishing = contextlib.ExitStack()
        try:
            self._announce(resume)
            discovery, discovery_id = self._discovery(client, resume)
            plan = self._masterplan(client, discovery, resume)
            finishing.enter_context(held_open(self.database_url))
            # The discovery document the plan refers to: its batch was started when the
            # discovery ended, so it is normally stored already; the MasterPlan's own rows
            # keep being written while the plan is saved.
            self.recorder.flush(through=self._discovery_stored)
            masterplan_id = self._save(plan, discovery_id)
            status = "completed"
        except GenerationFailed as exc:
            error = exc.message
            self.stages.tiers.append(exc.tier or "failed")
        except GenerationCancelled:
            error = CANCELLED_MESSAGE
        except KeyboardInterrupt:
            status, error = (
                "interrupted",
                (f"interrupted; continue with `planner resume {self.spec.generation_id}`"),
            )
            raise
        except Exception as exc:
            log.exception("generation %s failed unexpectedly", self.spec.generation_id)
            error = f"internal error: {type(exc).__name__}: {exc}"
        finally:
            client.close()
            if status != "interrupted":
                self._emit_terminal(status, plan, masterplan_id, error)
            self.bus.unsubscribe(subscription, wait=True)
            outcome = self._outcome(status, plan, masterplan_id, error, resume)
            with finishing:
                self._close_record(outcome, resume)
        return outcome

    def _announce(self, resume: ResumePoint | None) -> None:
        if resume is None:
            self.events.emit(
                GenerationStart(
                    description=self.spec.description,
                    strategy=self.spec.strategy,
                    faults=self.spec.faults,
                    model=self.spec.model,
                    stage="discovery",
                )
            )
            return
        self.events.emit(
            Recovery(
                attempt=self.stages.current_attempt,
                tier="resume",
                reason="process_interrupted: the generation continues in a new process",
                resume_from_char=len(resume.stage_text or ""),
            )
        )

    # -- stages ------------------------------------------------------------------------
    def _discovery(
        self, client: Any, resume: ResumePoint | None
    ) -> tuple[Discovery, uuid.UUID | None]:
        if resume is not None and resume.discovery is not None:
            self.stages.progress.start_stage("discovery")
            self.stages.progress.add(0, resume.discovery.model_dump_json())
            return resume.discovery, resume.discovery_id
        request = discovery_request(self.spec.description, self.spec.model)
        resume_text = resume.stage_text if resume is not None else None
        result = self.stages.run(client, "discovery", request, resume_from=resume_text)
        discovery = self._parse_with_repair(client, "discovery", request, result, parse_discovery)
        discovery_id = uuid.uuid4()
        # Stored with the recorder's next batch: the discovery document and the row's
        # move to the MasterPlan stage commit together, after the discovery's checkpoints.
        self.recorder.store_with_next_batch(
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
            checkpoint_stage=None,
            checkpoint_text=None,
            checkpoint_offset=0,
        )
        self._discovery_stored = self.recorder.flush_soon()  # while the MasterPlan streams
        return discovery, discovery_id

    def _masterplan(
        self, client: Any, discovery: Discovery, resume: ResumePoint | None
    ) -> MasterPlan:
        task_count = task_count_for(discovery)
        request = masterplan_request(self.spec.description, discovery, task_count, self.spec.model)
        resume_text = None
        if resume is not None and resume.discovery is not None:
            resume_text = resume.stage_text
        result = self.stages.run(
            client, "masterplan", request, resume_from=resume_text, expected_tasks=task_count
        )
        self.recorder.flush_soon()  # written while the answer is parsed, not after
        return self._parse_with_repair(client, "masterplan", request, result, self._check_plan)

    def _check_plan(self, text: str) -> MasterPlan:
        plan = load_masterplan(text)
        counts = plan.counts()
        self.events.emit(
            ParsingComplete(
                total_phases=counts["phases"],
                total_milestones=counts["milestones"],
                total_tasks=counts["tasks"],
            )
        )
        self.events.emit(ValidationStart())
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
    def _save(self, plan: MasterPlan, discovery_id: uuid.UUID | None) -> uuid.UUID:
        self.events.emit(SavingStart(total_entities=persist.total_entities(plan)))
        masterplan_id = persist.store_masterplan(
            plan,
            user_id=self.spec.user_id,
            generation_id=self.spec.generation_id,
            discovery_id=discovery_id,
            database_url=self.database_url,
        )
        self.stages.emit_progress(self.stages.progress.complete())
        return masterplan_id

    def _emit_terminal(
        self,
        status: str,
        plan: MasterPlan | None,
        masterplan_id: uuid.UUID | None,
        error: str | None,
    ) -> None:
        if status == "completed" and plan is not None:
            counts = plan.counts()
            self.events.emit(
                GenerationComplete(
                    masterplan_id=str(masterplan_id),
                    project_name=plan.project_name,
                    total_phases=counts["phases"],
                    total_milestones=counts["milestones"],
                    total_tasks=counts["tasks"],
                    duration_seconds=round(self._duration_s(), 3),
                    output_tokens=self.stages.output_tokens,
                )
            )
        else:
            self.events.emit(
                GenerationError(message=error or "failed", tier=self.stages.tier() or "")
            )

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
        )

    def _close_record(self, outcome: GenerationOutcome, resume: ResumePoint | None) -> None:
        self.recorder.close(
            status=outcome.status,
            tier=outcome.tier,
            error=outcome.error,
            finished_at=self._now() if outcome.status != "interrupted" else None,
            duration_s=outcome.duration_s,
            attempts=outcome.attempts,
            input_tokens=self.stages.ledger.input_tokens
            + (resume.previous_input_tokens if resume is not None else 0),
            output_tokens=outcome.output_tokens,
            wasted_output_tokens=outcome.wasted_output_tokens,
            cache_creation_input_tokens=self.stages.ledger.cache_creation_input_tokens,
            cache_read_input_tokens=self.stages.ledger.cache_read_input_tokens,
        )
