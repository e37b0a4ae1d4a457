"""The resilient streaming client: finish the answer, losing at most what was in flight.

`ResilientClient.generate()` runs attempts (`planner.llm.attempt`) until the answer ends
with `end_turn` or `stop_sequence`, asking its strategy (`planner.llm.strategies`) after
every failure whether and how to go on. The SDK runs with `max_retries=0`: every retry is
planner's, and every attempt is recorded.

The SDK is the seam, as the transport is in httpx: by default the client builds its own
`anthropic.Anthropic` from `api_key` and `base_url`; a caller may hand it an HTTP client
instead (`http_client=`, e.g. an `httpx2.Client` on a `MockTransport` serving hand-written
SSE bodies), or a whole SDK client (`sdk=`), which is used through a copy with planner's
retries and timeouts. Which endpoint to talk to is the caller's business
(`planner.plan.endpoint`): the client knows nothing of the simulator or the settings.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

import anthropic
import httpx2

from planner.llm.attempt import AttemptOutcome, run_nonstream, run_stream
from planner.llm.errors import PlannerLLMError
from planner.llm.ledger import Ledger
from planner.llm.state import AttemptState
from planner.llm.steps import Finish, NextAttempt, NextStep, continue_from_text
from planner.llm.stitching import SeamJoiner
from planner.llm.strategies import DEFAULT_STRATEGY, Limits, build_strategy
from planner.llm.timeline import Callbacks, Timeline
from planner.llm.types import (
    AttemptRecord,
    Checkpoint,
    Chunk,
    GenerationResult,
    Progress,
    RecoveryNotice,
    Tier,
)


class ResilientClient:
    """Generations through one SDK client, recovering as the named strategy says.

    `sleep`, `clock` and `rng` are injected so tests wait for nothing; the SDK or its HTTP
    client may be injected too (see the module docstring).
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        strategy: str = DEFAULT_STRATEGY,
        read_timeout_s: float = 60.0,
        connect_timeout_s: float = 10.0,
        nonstream_timeout_s: float = 600.0,
        checkpoint_every_chars: int = 500,
        progress_every_chunks: int = 50,
        max_attempts: int = Limits.max_attempts,
        deadline_s: float = Limits.deadline_s,
        default_headers: dict[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        sdk: anthropic.Anthropic | None = None,
        http_client: httpx2.Client | None = None,
    ) -> None:
        self.strategy = build_strategy(strategy, max_attempts=max_attempts, deadline_s=deadline_s)
        timeout = httpx2.Timeout(read_timeout_s, connect=connect_timeout_s)
        if sdk is None:
            self.sdk = anthropic.Anthropic(
                api_key=api_key,
                base_url=base_url,
                max_retries=0,
                timeout=timeout,
                http_client=http_client,
            )
        elif api_key is not None or base_url is not None or http_client is not None:
            raise TypeError("give either sdk= or api_key / base_url / http_client, not both")
        else:
            # A copy sharing the caller's connection pool, with planner's retries and timeouts.
            self.sdk = sdk.with_options(max_retries=0, timeout=timeout)
        self._owns_sdk = sdk is None
        self.nonstream_timeout = httpx2.Timeout(nonstream_timeout_s, connect=connect_timeout_s)
        self.checkpoint_every_chars = checkpoint_every_chars
        self.progress_every_chunks = progress_every_chunks
        self.default_headers = dict(default_headers or {})
        self.sleep = sleep
        self.clock = clock
        self.rng = rng if rng is not None else random.Random()

    def close(self) -> None:
        """Close the SDK client this client built (with it an injected `http_client`, as
        the SDK closes what it is given); an injected `sdk` stays the caller's to close."""
        if self._owns_sdk:
            self.sdk.close()

    def __enter__(self) -> ResilientClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def generate(
        self,
        request: dict[str, Any],
        *,
        resume_from: str | None = None,
        extra_headers: dict[str, str] | None = None,
        on_chunk: Callable[[Chunk], None] | None = None,
        on_checkpoint: Callable[[Checkpoint], None] | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        on_recovery: Callable[[RecoveryNotice], None] | None = None,
        on_attempt: Callable[[AttemptRecord], None] | None = None,
    ) -> GenerationResult:
        """Stream `request` (kwargs of `messages.stream`) to a complete answer if possible.

        `resume_from` is text of this answer received earlier (a stored checkpoint): the
        generation continues after it. Failures are returned, not raised: the result's
        `complete` is True only for an answer that ended with end_turn / stop_sequence.
        """
        headers = {**self.default_headers, **(extra_headers or {})}
        state = AttemptState(
            request=request,
            clock=self.clock,
            rng=self.rng,
            started_at=self.clock(),
            text=resume_from or "",
        )
        timeline = Timeline(
            clock=self.clock,
            started_at=state.started_at,
            callbacks=Callbacks(on_chunk, on_checkpoint, on_progress),
            checkpoint_every_chars=self.checkpoint_every_chars,
            progress_every_chunks=self.progress_every_chunks,
            initial_text=resume_from or "",
        )
        step = continue_from_text()(state) if resume_from and resume_from.strip() else None
        if not isinstance(step, NextAttempt):
            step = NextAttempt("stream", request, "", "retry", "stream")
        ledger = Ledger()
        while True:
            outcome = self._attempt(step, state, timeline, ledger, headers)
            if on_attempt is not None:
                on_attempt(state.attempts[-1])
            error = outcome.error
            if error is None:
                return self._result(state, timeline.text, step.tier, ledger, outcome)
            decision = self.strategy.decide(state)
            next_step = decision.step
            if on_recovery is not None:
                on_recovery(_notice(state, error, next_step))
            if isinstance(next_step, Finish):
                message = _give_up_message(state, error) if decision.stopped else error.message
                return self._result(state, timeline.text, next_step.tier, ledger, outcome, message)
            if state.upcoming_wait_s > 0:
                self.sleep(state.upcoming_wait_s)
            step = next_step

    def _attempt(
        self,
        step: NextAttempt,
        state: AttemptState,
        timeline: Timeline,
        ledger: Ledger,
        headers: dict[str, str],
    ) -> AttemptOutcome:
        """Run one attempt and record it in the state, the timeline and the ledger."""
        state.attempt += 1
        state.kind = step.kind
        record = AttemptRecord(
            number=state.attempt,
            kind=step.kind,
            start_ms=state.elapsed_ms,
            resume_from_char=len(step.kept_text),
        )
        # A non-streaming answer replaces the text only once it has arrived.
        nonstream = step.kind == "nonstream"
        timeline.start_attempt(state.attempt, timeline.text if nonstream else step.kept_text)
        outcome = self._run(step, headers, timeline)
        state.text = timeline.text
        received = "".join(outcome.received)
        added = len(received) if nonstream else len(state.text) - len(step.kept_text)
        start_char = len(state.text) - added if nonstream else len(step.kept_text)
        record.output_tokens = ledger.add(
            start_char, added, received, outcome.usage, outcome.usage_reported
        )
        record.end_ms = state.elapsed_ms
        record.chars = added
        record.input_tokens = outcome.usage.input_tokens
        record.stop_reason = outcome.stop_reason
        record.request_id = outcome.request_id
        if outcome.error is not None:
            record.error_type = outcome.error.kind
            record.error_message = outcome.error.message
            state.record_failure(outcome.error, added)
        timeline.checkpoint()
        timeline.progress()
        state.attempts.append(record)
        return outcome

    def _run(
        self, step: NextAttempt, headers: dict[str, str], timeline: Timeline
    ) -> AttemptOutcome:
        if step.kind == "nonstream":
            outcome = run_nonstream(self.sdk, step.request, headers, self.nonstream_timeout)
            if outcome.received:
                timeline.replace("".join(outcome.received))
            return outcome
        if not step.join_seam:
            return run_stream(self.sdk, step.request, headers, timeline.append)
        seam = SeamJoiner(step.kept_text)

        def join(delta: str) -> None:
            for piece in seam.feed(delta) or ():
                timeline.append(piece)

        outcome = run_stream(self.sdk, step.request, headers, join)
        if outcome.error is None:
            # Held-back text of a broken continuation may be a half-finished repeat; it is
            # only released when the answer really ended.
            for piece in seam.finish():
                timeline.append(piece)
        return outcome

    def _result(
        self,
        state: AttemptState,
        text: str,
        tier: Tier,
        ledger: Ledger,
        last: AttemptOutcome,
        message: str | None = None,
    ) -> GenerationResult:
        error = last.error
        return GenerationResult(
            text=text,
            tier=tier,
            complete=error is None,
            attempts=state.attempts,
            usage=ledger.usage,
            wasted_output_tokens=ledger.wasted_tokens(text),
            duration_s=state.elapsed_s,
            stop_reason=last.stop_reason,
            error=message if message is not None else (error.message if error else None),
            error_type=error.kind if error is not None else None,
        )


def _notice(state: AttemptState, error: PlannerLLMError, step: NextStep) -> RecoveryNotice:
    if isinstance(step, NextAttempt):
        return RecoveryNotice(
            state.attempt,
            error.kind,
            error.message,
            step.decision,
            step.tier,
            len(step.kept_text),
            state.upcoming_wait_s,
        )
    return RecoveryNotice(
        state.attempt, error.kind, error.message, step.decision, step.tier, len(state.text), 0.0
    )


def _give_up_message(state: AttemptState, error: PlannerLLMError) -> str:
    return (
        f"gave up after {state.attempt} attempt(s) in {state.elapsed_s:.1f} s "
        f"(attempt or time limit): {error.message}"
    )
