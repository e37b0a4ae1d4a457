"""No request is spent on a prefill that is known to be refused (issues 14 and 18).

The catalogue says which models refuse an assistant prefill; thinking and structured
outputs rule it out on any model; a model the catalogue does not know is tried once and
what it answered is remembered for the process, recognised by the error's type and the
request's shape, not by the wording of the message.
"""

from __future__ import annotations

from typing import Any

from planner.llm.capabilities import ModelCapabilities
from tests.llm_helpers import REQUEST, FakeTime
from tests.sse_helpers import (
    ScriptedAPI,
    answer,
    api_error,
    cut_after,
    deltas,
    kinds,
    opening,
    run,
    sse,
)

UNKNOWN = "claude-sonnet-9-9-preview"


def broken_then(*rest: Any) -> ScriptedAPI:
    return ScriptedAPI(sse(cut_after([*opening(), *deltas("The plan ", "has three ")])), *rest)


def ends_with_assistant(request: dict[str, Any]) -> bool:
    return request["messages"][-1]["role"] == "assistant"


def test_a_catalogued_no_prefill_model_never_gets_a_prefill() -> None:
    api = broken_then(sse(answer("phases.")))
    result = run(api, "resume", request={**REQUEST, "model": "claude-sonnet-5-5"})
    assert result.complete and kinds(result) == [
        ("stream", "connection_dropped"),
        ("continue", None),
    ]
    assert not any(ends_with_assistant(sent) for sent in api.requests)


def test_thinking_rules_out_a_prefill_even_on_a_model_that_accepts_one() -> None:
    thinking = {**REQUEST, "thinking": {"type": "enabled", "budget_tokens": 1024}}
    api = broken_then(sse(answer("phases.")))
    result = run(api, "resume", request=thinking)
    assert [kind for kind, _ in kinds(result)] == ["stream", "continue"]
    assert not any(ends_with_assistant(sent) for sent in api.requests)


def test_an_unknown_model_is_tried_once_and_remembered_for_the_process() -> None:
    learned = ModelCapabilities()
    request = {**REQUEST, "model": UNKNOWN}
    # The refusal's wording is not what planner matches: a bare 400 on a request that
    # differs from an accepted one only by the prefill can only be about the prefill.
    api = broken_then(
        api_error(400, "invalid_request_error", "Invalid request"), sse(answer("phases."))
    )
    first = run(api, "resume", request=request, capabilities=learned)
    assert kinds(first) == [
        ("stream", "connection_dropped"),
        ("resume", "prefill_refused"),
        ("continue", None),
    ]
    assert first.text == "The plan has three phases."
    assert learned.learned_prefill_refused(UNKNOWN)

    again = broken_then(sse(answer("phases.")))
    second = run(again, "resume", FakeTime(), request=request, capabilities=learned)
    assert [kind for kind, _ in kinds(second)] == ["stream", "continue"]
    assert not any(ends_with_assistant(sent) for sent in again.requests)


def test_a_400_on_a_first_request_is_not_taken_for_a_prefill_refusal() -> None:
    api = ScriptedAPI(api_error(400, "invalid_request_error", "max_tokens: too large"))
    result = run(api, "resume", request={**REQUEST, "model": UNKNOWN})
    assert kinds(result) == [("stream", "invalid_request")]
