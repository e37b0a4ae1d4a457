"""The oracle: the physical floor of recovery on planner's simulator, as a reference contender.

It knows where a stream broke and resends only what is needed, with no backoff: after any
failure (a dropped connection, an SSE error, a stream that ended without `message_stop`, an
error status before the stream) it reconnects at once and continues from exactly the text
received; it ignores `retry-after`, since the simulator does not punish an early retry
(a real API may). Continuing uses the cheapest request the model allows
(`planner.catalog`): an assistant prefill of the text so far (cut back to its last
non-blank character, which the API requires, so the model re-sends that whitespace), or,
on a model that refuses prefill, the text as an earlier assistant turn and a user turn
asking to go on, which the model answers by repeating some of the end of that text.

How much it repeats is what only an oracle may know. The simulator says it with every
reply, in the `x-planner-answer-from-char` header (`planner.protocol.ANSWER_FROM_HEADER`):
where in its full answer the reply's text starts. That is a fact about the simulator's own
reply, sent to anyone; the simulator learns nothing of its client, and planner's own client
does not read it. With it the oracle places every delta at its exact position in the answer
and hands the consumer only characters it has not had: nothing is delivered twice, and
nothing is generated twice beyond the overlap the model itself repeats.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import anthropic
import httpx2

from planner import catalog
from planner.contenders.base import (
    ContenderResult,
    Endpoint,
    RunRecorder,
    TransportCount,
    installed_versions,
    request_text_params,
)
from planner.contenders.sdk_stream import counting_sdk
from planner.errors import ConfigError
from planner.protocol import ANSWER_FROM_HEADER

MAX_ATTEMPTS = 20
CONTINUE_PROMPT = (
    "Your previous answer was cut off. Continue it exactly where it stopped, "
    "without repeating anything."
)


class OracleError(ConfigError):
    """The endpoint is not a planner simulator, so the oracle cannot know where a reply
    starts (or the simulator contradicted itself about it)."""


def _continuation(request: Mapping[str, Any], text: str, prefill: bool) -> dict[str, Any]:
    model, system, messages = request_text_params(request)
    params: dict[str, Any] = {"model": model, "max_tokens": request["max_tokens"]}
    if system is not None:
        params["system"] = system
    if not text.strip():
        return {**params, "messages": messages}
    if prefill:
        return {**params, "messages": [*messages, {"role": "assistant", "content": text.rstrip()}]}
    return {
        **params,
        "messages": [
            *messages,
            {"role": "assistant", "content": text},
            {"role": "user", "content": CONTINUE_PROMPT},
        ],
    }


def _retryable(exc: anthropic.APIStatusError) -> bool:
    """Everything but a request the API refuses as such (4xx other than 408, 409, 429); an
    error event inside an open stream comes with its stream's 200."""
    return not 400 <= exc.status_code < 500 or exc.status_code in (408, 409, 429)


def _reply_start(response: httpx2.Response) -> int:
    value = response.headers.get(ANSWER_FROM_HEADER)
    if value is None:
        raise OracleError(f"the endpoint sent no {ANSWER_FROM_HEADER} header: not a simulator")
    return int(value)


class _Answer:
    """The text received so far; every attempt extends it in place, also one that breaks."""

    def __init__(self) -> None:
        self.text = ""

    def extend(self, position: int, piece: str) -> str:
        """Add what of `piece`, found at `position` of the full answer, is new; return it.

        The part it repeats must be what the text holds there, or the simulator
        contradicted itself."""
        if position > len(self.text):
            raise OracleError(f"a reply skipped characters {len(self.text)}..{position}")
        repeated = min(len(piece), len(self.text) - position)
        if piece[:repeated] != self.text[position : position + repeated]:
            raise OracleError(f"a reply repeated text that differs at character {position}")
        fresh = piece[repeated:]
        self.text += fresh
        return fresh


class Oracle:
    name = "oracle"

    def config(self) -> dict[str, Any]:
        return {
            "continue": "at once, no backoff, retry-after ignored",
            "how": "assistant prefill where planner.catalog allows it, else a continuation "
            f"turn with the overlap cut at the simulator's {ANSWER_FROM_HEADER}",
            "max_attempts": MAX_ATTEMPTS,
            "sdk_max_retries": 0,
        }

    def versions(self) -> dict[str, str]:
        return installed_versions("anthropic")

    def run(self, request: Mapping[str, Any], endpoint: Endpoint) -> ContenderResult:
        spec = catalog.lookup(request["model"])
        prefill = bool(spec and spec.accepts_prefill)
        counter = TransportCount()
        sdk = counting_sdk(endpoint, counter, max_retries=0)
        recorder = RunRecorder(self, counter)
        answer = _Answer()
        error: Exception | None = None
        try:
            for _ in range(MAX_ATTEMPTS):
                try:
                    if _attempt(sdk, request, answer, prefill, recorder):
                        return recorder.result(answer.text)
                    error = None
                except anthropic.APIStatusError as exc:
                    if not _retryable(exc):
                        return recorder.result("", error=exc)
                    error = exc
                except (anthropic.APIError, httpx2.HTTPError) as exc:
                    error = exc
            return recorder.result("", error=error, claimed_success=False)
        finally:
            sdk.close()


def _attempt(
    sdk: anthropic.Anthropic,
    request: Mapping[str, Any],
    answer: _Answer,
    prefill: bool,
    recorder: RunRecorder,
) -> bool:
    """One request continuing `answer`, extending it; whether the answer ended."""
    stream = sdk.messages.create(**_continuation(request, answer.text, prefill), stream=True)
    received: list[str] = []
    finished = False
    try:
        position = _reply_start(stream.response)
        for event in stream:
            if event.type == "content_block_delta" and event.delta.type == "text_delta":
                piece = event.delta.text
                received.append(piece)
                recorder.deliver(answer.extend(position, piece))
                position += len(piece)
            elif event.type == "message_delta":
                recorder.add_tokens(event.usage.output_tokens)
                finished = event.delta.stop_reason is not None
    except BaseException:
        recorder.estimate_tokens("".join(received))
        raise
    finally:
        stream.close()
    if not finished:
        recorder.estimate_tokens("".join(received))
    return finished


__all__ = ["CONTINUE_PROMPT", "MAX_ATTEMPTS", "Oracle", "OracleError"]
