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

Budget: a generation may spend `output_budget_tokens` output tokens over all its attempts,
thinking included (default `DEFAULT_BUDGET_FACTOR` x the request's `max_tokens`); every
attempt is sent with `max_tokens` at most what is left, and a generation that has spent it
fails with `OutputBudgetSpent` instead of asking for more.

What `on_chunk` delivers is never taken back while the generation goes on: a resume keeps
every delivered character (a prefill leaves out trailing whitespace and drops the model's
repeat of it; a continuation drops its repeat of the kept text). The one exception is a
refusal: the docs say to discard its partial answer, so the result's text is "" and the
recovery notice says `discard`; a consumer drops what it showed for that generation.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

import anthropic
import httpx2

from planner.llm.attempt import AttemptOutcome, run_nonstream, run_stream
from planner.llm.capabilities import (
    PROCESS_CAPABILITIES,
    ModelCapabilities,
    check_stitched_json,
)
from planner.llm.errors import OutputBudgetSpent, PrefillRefused, Refused
from planner.llm.ledger import Ledger
from planner.llm.notices import budget_message, give_up_message, notice, report, within_budget
from planner.llm.seams import AnchoredJoiner, LagBuffer
from planner.llm.state import AttemptState
from planner.llm.steps import Finish, NextAttempt, continue_from_text
from planner.llm.stitching import WhitespaceJoiner, resent_segments
from planner.llm.strategies import DEFAULT_STRATEGY, Limits, build_strategy
from planner.llm.timeline import Callbacks, Timeline
from planner.llm.tls import sdk_http_client
from planner.llm.types import (
    AttemptRecord,
    Checkpoint,
    Chunk,
    GenerationResult,
    Progress,
    RecoveryNotice,
    Tier,
)

DEFAULT_BUDGET_FACTOR = 3
"""Without an explicit budget, a generation may spend this many times its max_tokens."""


class ResilientClient:
    """Generations through one SDK client, recovering as the named strategy says.

    `sleep`, `clock` and `rng` are injected so tests wait for nothing; the SDK or its HTTP
    client may be injected too (see the module docstring), and what the process learned
    about models (`capabilities`).
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        strategy: str = DEFAULT_STRATEGY,
        read_timeout_s: float = 60.0,
        connect_timeout_s: float = 10.0,
        checkpoint_every_chars: int = 500,
        progress_every_chunks: int = 50,
        max_attempts: int = Limits.max_attempts,
        deadline_s: float = Limits.deadline_s,
        max_total_attempts: int = Limits.max_total_attempts,
        output_budget_tokens: int | None = None,
        cache_ttl: str | None = None,
        default_headers: dict[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        sdk: anthropic.Anthropic | None = None,
        http_client: httpx2.Client | None = None,
        capabilities: ModelCapabilities = PROCESS_CAPABILITIES,
    ) -> None:
        self.strategy = build_strategy(
            strategy,
            max_attempts=max_attempts,
            deadline_s=deadline_s,
            max_total_attempts=max_total_attempts,
        )
        timeout = httpx2.Timeout(read_timeout_s, connect=connect_timeout_s)
        if sdk is None:
            self.sdk = anthropic.Anthropic(
                api_key=api_key,
                base_url=base_url,
                max_retries=0,
                timeout=timeout,
                http_client=http_client if http_client is not None else sdk_http_client(),
            )
        elif api_key is not None or base_url is not None or http_client is not None:
            raise TypeError("give either sdk= or api_key / base_url / http_client, not both")
        else:
            # A copy sharing the caller's connection pool, with planner's retries and timeouts.
            self.sdk = sdk.with_options(max_retries=0, timeout=timeout)
        # Non-streaming calls go through the SDK's default timeout, so its long-request
        # guard applies as it did to the original system (no 600 s override).
        self.nonstream_sdk = self.sdk.with_options(timeout=anthropic.DEFAULT_TIMEOUT)
        self._owns_sdk = sdk is None
        self.checkpoint_every_chars = checkpoint_every_chars
        self.progress_every_chunks = progress_every_chunks
        self.output_budget_tokens = output_budget_tokens
        self.cache_ttl = cache_ttl
        self.default_headers = dict(default_headers or {})
        self.sleep = sleep
        self.clock = clock
        self.rng = rng if rng is not None else random.Random()
        self.capabilities = capabilities

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
        output_budget_tokens: int | None = None,
        on_chunk: Callable[[Chunk], None] | None = None,
        on_checkpoint: Callable[[Checkpoint], None] | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        on_recovery: Callable[[RecoveryNotice], None] | None = None,
        on_attempt: Callable[[AttemptRecord], None] | None = None,
    ) -> GenerationResult:
        """Stream `request` (kwargs of `messages.stream`) to a complete answer if possible.

        `resume_from` is text of this answer received earlier (a stored checkpoint): the
        generation continues after it. `output_budget_tokens` overrides the client's
        budget for this generation. Failures are returned, not raised: the result's
        `complete` is True only for an answer that ended with end_turn / stop_sequence.
        """
        headers = {**self.default_headers, **(extra_headers or {})}
        budget = output_budget_tokens or self.output_budget_tokens
        state = AttemptState(
            request=request,
            clock=self.clock,
            rng=self.rng,
            started_at=self.clock(),
            text=resume_from or "",
            prefill_allowed=self.capabilities.prefill_allowed(request),
            output_budget_tokens=budget or DEFAULT_BUDGET_FACTOR * int(request["max_tokens"]),
            cache_ttl=self.cache_ttl,
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
        ledger = Ledger(str(request.get("model", "")))
        while True:
            outcome = self._attempt(step, state, timeline, ledger, headers)
            error = outcome.error
            if error is None:
                report(on_attempt, state)
                return self._result(state, timeline.text, step.tier, ledger, outcome)
            if isinstance(error, PrefillRefused) and step.kind == "resume":
                self.capabilities.learn_prefill_refused(str(request.get("model", "")))
            decision = self.strategy.decide(state)
            next_step = decision.step
            if isinstance(error, Refused):
                timeline.discard()
                state.text = state.anchor = ""
            state.attempts[-1].decision = (
                "discard" if isinstance(error, Refused) else next_step.decision
            )
            report(on_attempt, state)
            if on_recovery is not None:
                on_recovery(notice(state, error, next_step))
            if isinstance(next_step, Finish):
                if state.anchor and not isinstance(error, Refused):
                    # Nothing follows: what was held back for a continuation is delivered.
                    timeline.append(state.anchor)
                    timeline.checkpoint()
                    state.anchor = ""
                if next_step.error is not None:
                    outcome.error = next_step.error
                    message = next_step.error.message
                elif decision.stopped and state.budget_left == 0:
                    outcome.error = OutputBudgetSpent(budget_message(state, error))
                    message = outcome.error.message
                else:
                    message = give_up_message(state, error) if decision.stopped else error.message
                return self._result(state, timeline.text, next_step.tier, ledger, outcome, message)
            if next_step.adjusted_request is not None:
                state.request = next_step.adjusted_request
                if next_step.adjustment:
                    state.adjustments.append(next_step.adjustment)
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
        request = within_budget(step.request, state.budget_left)
        record = AttemptRecord(
            number=state.attempt,
            kind=step.kind,
            start_ms=state.elapsed_ms,
            resume_from_char=len(step.kept_text),
            max_tokens=int(request["max_tokens"]),
        )
        # A non-streaming answer replaces the text only once it has arrived.
        nonstream = step.kind == "nonstream"
        held = step.kept_text[len(timeline.text) :]
        if held and step.kept_text.startswith(timeline.text):
            # Held-back text the next attempt writes on after is delivered now.
            timeline.append(held)
            state.anchor = ""
        timeline.start_attempt(state.attempt, timeline.text if nonstream else step.kept_text)
        probe = step.kind == "resume" and state.accepted
        state.attempts_seam = None
        state.attempt_repeated_chars = state.attempt_opening_chars = 0
        outcome = self._run(step, state, request, headers, timeline, probe)
        state.text = timeline.text
        # A fresh stream from nothing is the API's own answer again; anything written on
        # after a continuation turn is a joined one.
        state.continued = step.kind == "continue" or (state.continued and bool(step.kept_text))
        if outcome.error is None and state.continued:
            outcome.error = check_stitched_json(state.request, state.text)
        received = "".join(outcome.received)
        # What this attempt wrote: the text delivered after the kept text, and the tail it
        # left held back (the next continuation's anchor), which also counts as progress.
        reached = len(state.text) + len(state.anchor)
        held_before = 0 if step.anchor_delivered else len(step.anchor)
        added = len(received) if nonstream else reached - len(step.kept_text) - held_before
        start_char = len(state.text) - added if nonstream else len(step.kept_text)
        written = added if nonstream else reached - len(step.kept_text)
        record.output_tokens, record.thinking_tokens = ledger.add(
            start_char,
            written,
            received,
            outcome.usage,
            outcome.usage_reported,
            thinking="".join(outcome.thinking),
            thinking_reported=outcome.thinking_reported,
        )
        if outcome.thought and not outcome.thinking_reported and not outcome.thinking:
            record.thinking_tokens = None  # omitted, and no usage came: not known
        state.output_tokens_spent += record.output_tokens
        state.accepted |= outcome.http_status == 200
        state.last_attempt_thought = outcome.thought
        if step.kind in ("resume", "continue"):
            state.resent_segments = resent_segments(step.request)
        record.end_ms = state.elapsed_ms
        if nonstream:
            record.chars = added
        else:
            # Where the reply this attempt read begins in the answer, and how much of it
            # arrived: a continuation that wrote the end of the kept text again began there.
            sent_chars = len(step.kept_text) - (len(step.anchor) if step.anchor_delivered else 0)
            record.resume_from_char = sent_chars - state.attempt_repeated_chars
            record.chars = max(0, len(received) - state.attempt_opening_chars)
        record.seam = state.attempts_seam
        record.input_tokens = outcome.usage.input_tokens
        record.stop_reason = outcome.stop_reason
        record.request_id = outcome.request_id
        record.http_status = outcome.http_status
        record.rate_limit = outcome.rate_limit
        if outcome.error is not None:
            record.error_type = outcome.error.kind
            record.error_message = outcome.error.message
            state.record_failure(outcome.error, max(0, added))
        timeline.checkpoint()
        timeline.progress()
        state.attempts.append(record)
        return outcome

    def _run(
        self,
        step: NextAttempt,
        state: AttemptState,
        request: dict[str, Any],
        headers: dict[str, str],
        timeline: Timeline,
        probe: bool,
    ) -> AttemptOutcome:
        if step.kind == "nonstream":
            outcome = run_nonstream(self.nonstream_sdk, request, headers)
            if outcome.received:
                timeline.replace("".join(outcome.received))
            return outcome
        think = timeline.think
        # A no-prefill model's last line is held back, so a continuation can be checked
        # against it (planner.llm.seams); a prefill continues exactly and needs none.
        lag = None if state.prefill_allowed else LagBuffer(timeline.append)
        sink = timeline.append if lag is None else lag.feed
        if step.resent_whitespace:
            spaces = WhitespaceJoiner(step.resent_whitespace)

            def rejoin(delta: str) -> None:
                for piece in spaces.feed(delta):
                    sink(piece)

            outcome = run_stream(self.sdk, request, headers, rejoin, think, prefill_probe=probe)
            # The reply began after the prefill: the whitespace it wrote again was kept text.
            state.attempt_repeated_chars = len(step.resent_whitespace)
            seam = None
        elif step.join_seam:
            sent = step.kept_text[: len(step.kept_text) - len(step.anchor)]
            seam = (
                AnchoredJoiner(sent, step.anchor, anchor_delivered=True)
                if step.anchor_delivered
                else AnchoredJoiner(step.kept_text, step.anchor)
            )

            def join(delta: str) -> None:
                for piece in seam.feed(delta):
                    sink(piece)

            outcome = run_stream(self.sdk, request, headers, join, think)
        else:
            seam = None
            outcome = run_stream(self.sdk, request, headers, sink, think)
        if outcome.error is None:
            if seam is not None:
                # Held-back text of a broken continuation may be a half-finished repeat;
                # it is only released when the answer really ended.
                for piece in seam.finish():
                    sink(piece)
            if lag is not None:
                lag.flush(drop_closing_fence=seam is not None and seam.opened_fence)
        if seam is not None:
            state.attempts_seam = seam.seam
            state.attempt_repeated_chars = seam.repeated_chars
            state.attempt_opening_chars = seam.opening_chars
        if lag is not None and (seam is None or seam.decided):
            state.anchor = lag.pending
        elif lag is None:
            state.anchor = ""
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
        waste = ledger.waste(text)
        return GenerationResult(
            text=text,
            tier=tier,
            complete=error is None,
            attempts=state.attempts,
            usage=ledger.usage,
            wasted_output_tokens=waste.output_tokens,
            duration_s=state.elapsed_s,
            stop_reason=last.stop_reason,
            error=message if message is not None else (error.message if error else None),
            error_type=error.kind if error is not None else None,
            wasted_thinking_tokens=waste.thinking_tokens,
            output_budget_tokens=state.output_budget_tokens,
            adjustments=list(state.adjustments),
            estimated_cost_usd=ledger.estimated_cost_usd(),
            estimated_saving_usd=ledger.estimated_saving_usd(),
        )
