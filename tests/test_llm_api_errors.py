"""Today's API failures through the client (hand-written responses on MockTransport).

A refusal, possibly mid-stream, is an unretried failure whose partial answer is discarded;
the spend-cap 429 fails at once saying what happened; `x-should-retry` is obeyed both
ways; 402, 409, 413 (also with an HTML body from an edge proxy) and 504 are classified;
every attempt records its HTTP status and the rate-limit headers it got.
"""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from planner.llm import Checkpoint, RecoveryNotice
from tests.llm_helpers import FakeTime
from tests.sse_helpers import (
    ScriptedAPI,
    answer,
    api_error,
    closing,
    cut_after,
    deltas,
    kinds,
    opening,
    run,
    sse,
)

REFUSAL_DETAILS = {
    "type": "refusal",
    "category": "cyber",
    "explanation": "This request was declined because it could enable cyber harm.",
}


def refused_mid_stream() -> httpx2.Response:
    body = [
        *opening(),
        *deltas("Step one: ", "obtain the "),
        *closing("refusal", 7, stop_details=REFUSAL_DETAILS),
    ]
    return sse(body)


def test_a_refusal_mid_stream_fails_at_once_and_discards_the_partial_answer() -> None:
    api = ScriptedAPI(refused_mid_stream())
    notices: list[RecoveryNotice] = []
    checkpoints: list[Checkpoint] = []
    fake = FakeTime()
    result = run(
        api,
        "resume",
        fake,
        on_recovery=notices.append,
        on_checkpoint=checkpoints.append,
        checkpoint_every_chars=1,
    )
    assert (result.complete, result.text, result.error_type) == (False, "", "refusal")
    assert "cyber" in (result.error or "") and "declined" in (result.error or "")
    assert len(api.requests) == 1 and fake.sleeps == []
    assert [(n.decision, n.resume_from_char) for n in notices] == [("discard", 0)]
    assert checkpoints[-1].text == "", "a stored checkpoint must not resume a refusal"
    assert result.attempts[0].decision == "discard"


def test_a_refusal_after_a_resume_discards_what_earlier_attempts_kept() -> None:
    api = ScriptedAPI(
        sse(cut_after([*opening(), *deltas("The plan ", "has ")])), refused_mid_stream()
    )
    result = run(api, "resume")
    assert (result.text, result.error_type) == ("", "refusal")
    assert len(api.requests) == 2


def test_the_spend_cap_429_fails_at_once_saying_what_happened() -> None:
    api = ScriptedAPI(
        api_error(
            429,
            "rate_limit_error",
            "You have reached your specified API usage limits.",
            error_code="enforced_spend_limit_reached",
        )
    )
    fake = FakeTime()
    result = run(api, "resume", fake)
    assert kinds(result) == [("stream", "spend_limit")]
    assert "spend limit" in (result.error or "") and "not retried" in (result.error or "")
    assert fake.sleeps == [] and len(api.requests) == 1


def test_x_should_retry_false_is_obeyed_on_a_500() -> None:
    api = ScriptedAPI(api_error(500, "api_error", "Internal", **{"x-should-retry": "false"}))
    result = run(api, "resume")
    assert kinds(result) == [("stream", "retry_declined")]
    assert "x-should-retry: false" in (result.error or "")


def test_x_should_retry_true_is_obeyed_on_a_400() -> None:
    api = ScriptedAPI(
        api_error(400, "invalid_request_error", "try again", **{"x-should-retry": "true"}),
        sse(answer("The plan.")),
    )
    result = run(api, "resume")
    assert result.complete and kinds(result) == [("stream", "server_error"), ("stream", None)]


@pytest.mark.parametrize(
    ("response", "kind", "retried"),
    [
        (api_error(402, "billing_error", "Your credit balance is too low"), "billing", False),
        (api_error(409, "conflict_error", "Conflict"), "conflict", True),
        (
            api_error(413, "request_too_large", "Request exceeds the maximum size"),
            "request_too_large",
            False,
        ),
        (
            httpx2.Response(
                413,
                headers={"content-type": "text/html"},
                text="<html><body><h1>413 Request Entity Too Large</h1></body></html>",
            ),
            "request_too_large",
            False,
        ),
        (api_error(504, "timeout_error", "Request timed out"), "gateway_timeout", True),
    ],
)
def test_each_status_is_classified_and_retried_only_when_it_can_help(
    response: httpx2.Response, kind: str, retried: bool
) -> None:
    api = ScriptedAPI(response, sse(answer("The plan.")))
    result = run(api, "resume")
    assert result.attempts[0].error_type == kind
    assert result.attempts[0].http_status == response.status_code
    assert result.complete is retried
    assert len(api.requests) == (2 if retried else 1)


RATE_HEADERS: dict[str, Any] = {
    "anthropic-ratelimit-requests-limit": "50",
    "anthropic-ratelimit-requests-remaining": "0",
    "anthropic-ratelimit-requests-reset": "2026-12-01T16:00:00Z",
    "anthropic-ratelimit-output-tokens-remaining": "1200",
}


def test_each_attempt_records_its_http_status_and_rate_limit_headers() -> None:
    limited = api_error(
        429,
        "rate_limit_error",
        "Number of requests has exceeded your rate limit",
        headers={**RATE_HEADERS, "retry-after": "2"},
    )
    ok = sse(answer("The plan."))
    ok.headers["anthropic-ratelimit-requests-remaining"] = "49"
    api = ScriptedAPI(limited, ok)
    fake = FakeTime()
    result = run(api, "resume", fake)
    first, second = result.attempts
    assert (first.http_status, first.error_type) == (429, "rate_limited")
    assert first.rate_limit["anthropic-ratelimit-requests-remaining"] == "0"
    assert first.rate_limit["retry-after"] == "2" and fake.sleeps == [2.0]
    assert second.http_status == 200
    assert second.rate_limit == {"anthropic-ratelimit-requests-remaining": "49"}
