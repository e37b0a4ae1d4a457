"""Thinking models through the client (hand-written SSE bodies on httpx's MockTransport).

Progress shows a thinking phase; thinking tokens are counted in usage and, when an
attempt dies, in the waste; a drop while thinking starts the stage again keeping nothing;
a drop after text began continues with a user turn (a thinking request cannot be
prefilled) without sending the broken thinking back; max_tokens spent while still thinking
is never retried with the identical request.
"""

from __future__ import annotations

from typing import Any

from planner.llm import Progress
from planner.llm.stitching import CONTINUE_PROMPT
from tests.llm_helpers import REQUEST
from tests.sse_helpers import (
    ScriptedAPI,
    closing,
    cut_after,
    deltas,
    kinds,
    message_start,
    run,
    sse,
    text_block_start,
    thinking,
)

THINKER = {**REQUEST, "model": "claude-sonnet-5-5"}  # thinking on by default, 128K cap


def thought_answer(
    *texts: str, thinking_tokens: int = 30, output_tokens: int = 45, stop: str = "end_turn"
) -> list[bytes]:
    return [
        message_start(),
        *thinking("Let me plan ", "the phases."),
        text_block_start(1),
        *deltas(*texts),
        *closing(stop, output_tokens, thinking_tokens=thinking_tokens, index=1),
    ]


def with_index(parts: list[bytes], index: int) -> list[bytes]:
    return [part.replace(b'"index": 0', f'"index": {index}'.encode()) for part in parts]


def test_progress_shows_a_thinking_phase_before_the_text() -> None:
    api = ScriptedAPI(sse(thought_answer("The plan.")))
    progress: list[Progress] = []
    result = run(api, "resume", request=THINKER, on_progress=progress.append)
    assert result.complete and result.text == "The plan."
    thinking_reports = [p for p in progress if p.phase == "thinking"]
    assert thinking_reports and all(p.chars == 0 for p in thinking_reports)
    first_text = next(p for p in progress if p.phase == "text")
    assert first_text.thinking_tokens > 0 and first_text.chars > 0
    assert progress[-1].phase == "text" and progress[-1].chars == len("The plan.")


def test_thinking_tokens_are_counted_in_usage_and_not_wasted_when_their_text_is_kept() -> None:
    api = ScriptedAPI(sse(thought_answer("The plan.", thinking_tokens=30, output_tokens=45)))
    result = run(api, "resume", request=THINKER)
    assert (result.usage.output_tokens, result.usage.thinking_tokens) == (45, 30)
    assert result.attempts[0].thinking_tokens == 30
    assert result.wasted_output_tokens == 0


def test_a_drop_while_thinking_starts_the_stage_again_and_counts_the_thinking_wasted() -> None:
    died = cut_after([message_start(), *thinking("Let me plan ", "the phases", signature=False)])
    api = ScriptedAPI(sse(died), sse(thought_answer("The plan.")))
    result = run(api, "resume", request=THINKER)
    assert result.complete and result.text == "The plan."
    assert kinds(result) == [("stream", "connection_dropped"), ("stream", None)]
    assert api.requests[1]["messages"] == THINKER["messages"], "nothing of the think is kept"
    first = result.attempts[0]
    assert first.thinking_tokens > 0 and first.chars == 0
    assert result.wasted_thinking_tokens == first.thinking_tokens
    assert result.wasted_output_tokens >= first.thinking_tokens


def test_a_drop_after_text_began_continues_with_a_user_turn_without_the_thinking() -> None:
    died = cut_after(
        [message_start(), *thinking("Let me plan."), text_block_start(1), *deltas("The plan ")]
    )
    api = ScriptedAPI(sse(died), sse(thought_answer("has three phases.")))
    result = run(api, "resume", request=THINKER)
    assert result.text == "The plan has three phases."
    assert kinds(result) == [("stream", "connection_dropped"), ("continue", None)]
    partial, ask = api.requests[1]["messages"][-2:]
    assert ask == {"role": "user", "content": CONTINUE_PROMPT}
    assert [block["type"] for block in partial["content"]] == ["text"]


def exhausted() -> list[bytes]:
    """max_tokens reached inside the thinking block: no text at all."""
    return [
        message_start(),
        *thinking("Let me plan ", "at length", signature=False),
        *closing("max_tokens", 100, thinking_tokens=100),
    ]


def sent_max_tokens(api: ScriptedAPI) -> list[int]:
    return [request["max_tokens"] for request in api.requests]


def test_max_tokens_spent_thinking_is_retried_with_more_room_not_the_same_request() -> None:
    api = ScriptedAPI(sse(exhausted()), sse(thought_answer("The plan.")))
    result = run(api, "resume", request=THINKER)
    assert result.complete and result.text == "The plan."
    assert sent_max_tokens(api) == [100, 200]
    assert result.attempts[0].error_type == "max_tokens"
    assert result.attempts[0].decision == "raise_max_tokens"
    assert result.adjustments == ["max_tokens 100 -> 200"]
    assert result.wasted_thinking_tokens == 100 and result.wasted_output_tokens >= 100


def test_at_the_models_cap_the_effort_is_lowered_instead() -> None:
    at_cap: dict[str, Any] = {
        **THINKER,
        "max_tokens": 128_000,
        "output_config": {"effort": "high"},
    }
    api = ScriptedAPI(sse(exhausted()), sse(thought_answer("The plan.")))
    result = run(api, "resume", request=at_cap)
    assert result.complete
    assert api.requests[1]["output_config"] == {"effort": "medium"}
    assert api.requests[1]["max_tokens"] == 128_000
    assert result.attempts[0].decision == "lower_effort"


def test_when_nothing_is_left_to_change_it_fails_clearly_and_reports_the_waste() -> None:
    api = ScriptedAPI(sse(exhausted()), sse(exhausted()))
    result = run(api, "resume", request=THINKER)
    assert (result.complete, result.error_type) == (False, "thinking_exhausted")
    assert "still thinking" in (result.error or "")
    assert sent_max_tokens(api) == [100, 200], "never the identical request twice"
    assert len(api.requests) == 2
    assert result.wasted_thinking_tokens == 200
