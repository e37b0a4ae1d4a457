"""`RunRecorder` on plain objects: what a contender's run records of its library's stream."""

from __future__ import annotations

from typing import Any

from planner.contenders.base import RunRecorder, TransportCount
from planner.tokens import count_tokens


class Named:
    name = "plain"

    def config(self) -> dict[str, Any]:
        return {"retries": 2}

    def versions(self) -> dict[str, str]:
        return {"library": "1.0"}


def _recorder() -> RunRecorder:
    ticks = iter([10.0, 12.5])
    counter = TransportCount()
    recorder = RunRecorder(Named(), counter, clock=lambda: next(ticks))
    counter(object())
    return recorder


def test_a_streamed_answer_takes_the_librarys_usage_when_it_reports_one() -> None:
    result = _recorder().streamed(["A plan", " in two pieces"], 42)
    assert (result.text, result.output_tokens, result.tokens_estimated) == (
        "A plan in two pieces",
        42,
        False,
    )
    assert result.claimed_success and result.error_type is None
    assert (result.requests, result.duration_s, result.config) == (1, 2.5, {"retries": 2})


def test_a_streamed_answer_without_usage_counts_its_text() -> None:
    result = _recorder().streamed(["A plan", " in two pieces"])
    assert result.output_tokens == count_tokens("A plan in two pieces") > 0
    assert result.tokens_estimated and result.text == "A plan in two pieces"


def test_a_stream_that_raised_has_no_text_and_counts_what_it_delivered() -> None:
    error = ConnectionError("peer closed the connection\nmid-stream")
    result = _recorder().streamed(["half a plan"], 99, error=error)
    assert result.text == "" and not result.claimed_success
    assert result.output_tokens == count_tokens("half a plan") and result.tokens_estimated
    assert result.error_type == "builtins.ConnectionError"
    assert result.error_message == "peer closed the connection mid-stream"
