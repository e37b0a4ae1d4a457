"""The client over httpx's `MockTransport`: hand-written SSE bodies, no server.

Each test scripts the responses of an API, byte for byte as the wire carries them, and
drives the real SDK and the real client through them; the end-to-end tests against the
real simulator (test_llm_strategies and the others) stay beside these.
"""

from __future__ import annotations

from typing import Any

import httpx2

from planner.llm.stitching import CONTINUE_PROMPT
from tests.llm_helpers import REQUEST, FakeTime
from tests.sse_helpers import (
    MODEL,
    PREFILL_REFUSED,
    ScriptedAPI,
    answer,
    api_error,
    closing,
    cut_after,
    deltas,
    event,
    kinds,
    last_message,
    opening,
    resent,
    run,
    sse,
    text_of,
)


def test_a_clean_answer_is_one_stream_with_its_usage_and_request_id() -> None:
    api = ScriptedAPI(sse(answer("The plan ", "has three ", "phases.")))
    chunks: list[Any] = []
    result = run(api, "resume", on_chunk=chunks.append)
    assert (result.text, result.tier, result.complete) == (
        "The plan has three phases.",
        "stream",
        True,
    )
    assert [chunk.text for chunk in chunks] == ["The plan ", "has three ", "phases."]
    assert (result.usage.input_tokens, result.usage.output_tokens) == (12, 9)
    assert result.attempts[0].request_id == "req_mock"
    assert result.stop_reason == "end_turn" and result.wasted_output_tokens == 0
    [sent] = api.requests
    assert sent["stream"] is True and sent["messages"] == REQUEST["messages"]


def test_a_stream_cut_mid_way_is_resumed_with_the_kept_text_as_prefill() -> None:
    api = ScriptedAPI(
        sse(cut_after([*opening(), *deltas("The plan ", "has three ")])),
        sse(answer(" phases.")),
    )
    fake = FakeTime()
    result = run(api, "resume", fake)
    assert (result.text, result.tier, result.complete) == (
        "The plan has three phases.",
        "resume",
        True,
    )
    assert kinds(result) == [("stream", "connection_dropped"), ("resume", None)]
    # Nothing delivered is taken back: the prefill leaves out the trailing space, the
    # model's repeat of it is dropped.
    assert result.attempts[1].resume_from_char == len("The plan has three ")
    assert resent(api.requests[1], "assistant") == "The plan has three"
    # The drop came after progress: reconnected at once, no backoff.
    assert fake.sleeps == []


def test_a_stream_cut_mid_way_fails_under_none_and_keeps_what_arrived() -> None:
    api = ScriptedAPI(sse(cut_after([*opening(), *deltas("The plan ", "has three ")])))
    result = run(api, "none")
    assert (result.text, result.tier, result.error_type) == (
        "The plan has three ",
        "failed",
        "connection_dropped",
    )
    assert result.attempts[0].request_id == "req_mock"


def test_an_sse_error_event_is_a_stream_failure_named_after_its_type() -> None:
    error = event(
        "error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    )
    api = ScriptedAPI(sse([*opening(), *deltas("The plan "), error]))
    result = run(api, "none")
    assert (result.text, result.error_type) == ("The plan ", "sse_error")
    assert "overloaded_error" in (result.error or "")


def test_a_stream_ending_without_message_stop_is_truncated_not_an_answer() -> None:
    body = [*opening(), *deltas("The plan "), *closing()[:-1]]
    # The prefill is cut back to "The plan": the model writes the space again.
    api = ScriptedAPI(sse(body), sse(answer(" has three phases.")))
    result = run(api, "resume")
    assert kinds(result) == [("stream", "truncated"), ("resume", None)]
    assert "without message_stop" in (result.attempts[0].error_message or "")
    assert resent(api.requests[1], "assistant") == "The plan"
    assert result.text == "The plan has three phases."


def test_a_529_is_waited_out_for_as_long_as_its_retry_after_asks() -> None:
    api = ScriptedAPI(
        api_error(529, "overloaded_error", "Overloaded", **{"retry-after": "3"}),
        sse(answer("The plan.")),
    )
    fake = FakeTime()
    result = run(api, "restart", fake)
    assert kinds(result) == [("stream", "overloaded"), ("stream", None)]
    assert fake.sleeps == [3.0]
    assert (result.text, result.tier) == ("The plan.", "restart")
    assert result.attempts[0].request_id == "req_err"


def test_hybrid_answers_a_529_with_one_non_streaming_call_at_once() -> None:
    message = {
        "id": "msg_mock",
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": [{"type": "text", "text": "The plan."}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 12, "output_tokens": 4},
    }
    api = ScriptedAPI(
        api_error(529, "overloaded_error", "Overloaded", **{"retry-after": "3"}),
        httpx2.Response(200, headers={"request-id": "req_whole"}, json=message),
    )
    fake = FakeTime()
    result = run(api, "hybrid", fake)
    assert kinds(result) == [("stream", "overloaded"), ("nonstream", None)]
    assert (result.text, result.tier, fake.sleeps) == ("The plan.", "nonstream", [])
    assert result.attempts[1].request_id == "req_whole"
    assert "stream" not in api.requests[1]


def test_a_refused_prefill_switches_to_a_continuation_turn_without_the_repeat() -> None:
    api = ScriptedAPI(
        sse(cut_after([*opening(), *deltas("The plan ", "has three ")])),
        api_error(400, "invalid_request_error", PREFILL_REFUSED),
        sse(answer("has three", " phases.")),
    )
    result = run(api, "resume")
    assert kinds(result) == [
        ("stream", "connection_dropped"),
        ("resume", "prefill_refused"),
        ("continue", None),
    ]
    assert result.text == "The plan has three phases."
    assert last_message(api.requests[2], "user") == CONTINUE_PROMPT
    partial = api.requests[2]["messages"][-2]
    assert (partial["role"], text_of(partial["content"])) == ("assistant", "The plan has three ")


def test_a_prefill_the_caller_sent_that_the_model_refuses_is_the_callers_error() -> None:
    api = ScriptedAPI(api_error(400, "invalid_request_error", PREFILL_REFUSED))
    prefilled = {
        **REQUEST,
        "messages": [*REQUEST["messages"], {"role": "assistant", "content": "{"}],
    }
    result = run(api, "resume", request=prefilled)
    assert (kinds(result), result.tier) == ([("stream", "prefill_refused")], "failed")
    assert len(api.requests) == 1
