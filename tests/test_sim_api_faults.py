"""Faults of today's API, each shown by the exception or stop reason the real SDK gives:
refusals, 402/409/413/504, the spend-cap 429, x-should-retry and the rate-limit headers."""

from __future__ import annotations

import json

import anthropic
import pytest

from planner.sim import Simulator
from planner.sim.faults import HttpError, Refusal
from planner.sim.spec import FaultSpec
from tests.sim_helpers import client, fault_headers, plain_request, stream_text


@pytest.fixture(scope="module")
def sim():
    with Simulator(speed=0) as running:
        yield running


def test_a_refusal_before_any_text_stops_with_its_details(sim: Simulator) -> None:
    headers = fault_headers({"type": "refusal", "category": "cyber", "explanation": "No."})
    text, message = stream_text(client(sim.base_url), plain_request(), extra_headers=headers)
    assert (text, message.stop_reason) == ("", "refusal")
    assert isinstance(message.stop_details, anthropic.types.RefusalStopDetails)
    assert (message.stop_details.category, message.stop_details.explanation) == ("cyber", "No.")


def test_a_refusal_mid_stream_comes_after_some_text(sim: Simulator) -> None:
    full, _ = stream_text(client(sim.base_url), plain_request())
    headers = fault_headers({"type": "refusal", "at_fraction": 0.5})
    with client(sim.base_url).messages.stream(**plain_request(), extra_headers=headers) as stream:
        text = "".join(stream.text_stream)
        message = stream.get_final_message()
    assert 0 < len(text) < len(full) and full.startswith(text)
    assert message.stop_reason == "refusal" and message.stop_details.category is None
    assert message.usage.output_tokens > 0


def test_a_non_streaming_refusal_carries_the_text_so_far(sim: Simulator) -> None:
    headers = fault_headers({"type": "refusal", "at_fraction": 0.5})
    message = client(sim.base_url).messages.create(**plain_request(), extra_headers=headers)
    assert message.stop_reason == "refusal" and message.content[0].text


@pytest.mark.parametrize(
    ("status", "error", "error_type", "should_retry"),
    [
        (402, anthropic.PaymentRequiredError, "billing_error", "false"),
        (409, anthropic.ConflictError, "conflict_error", "true"),
        (413, anthropic.ContentTooLargeError, "request_too_large", None),
        (504, anthropic.GatewayTimeoutError, "timeout_error", "true"),
    ],
)
def test_each_status_reaches_the_sdk_as_its_own_error(
    sim: Simulator, status: int, error: type, error_type: str, should_retry: str | None
) -> None:
    headers = fault_headers({"type": "http_error", "status": status})
    with pytest.raises(error) as caught:
        client(sim.base_url).messages.create(**plain_request(), extra_headers=headers)
    assert caught.value.status_code == status and caught.value.type == error_type
    assert caught.value.response.headers.get("x-should-retry") == should_retry


def test_a_proxy_413_has_an_html_body(sim: Simulator) -> None:
    headers = fault_headers({"type": "http_error", "status": 413, "body": "html"})
    with pytest.raises(anthropic.ContentTooLargeError) as caught:
        client(sim.base_url).messages.create(**plain_request(), extra_headers=headers)
    assert caught.value.response.headers["content-type"].startswith("text/html")
    assert (
        isinstance(caught.value.body, str) and "413 Request Entity Too Large" in caught.value.body
    )
    assert caught.value.type is None


def test_the_spend_cap_429_says_so_and_is_not_retried_by_the_sdk() -> None:
    spend_cap = {"type": "http_error", "status": 429, "error_code": "enforced_spend_limit_reached"}
    with Simulator(speed=0, faults=json.dumps([spend_cap])) as sim:
        with pytest.raises(anthropic.EnforcedSpendLimitReachedError) as caught:
            client(sim.base_url, max_retries=2).messages.create(**plain_request())
        requests = sim.stats()["requests"]
    exc = caught.value
    assert (exc.status_code, exc.type, exc.error_code) == (
        429,
        "rate_limit_error",
        "enforced_spend_limit_reached",
    )
    assert "retry-after" not in exc.response.headers
    assert exc.response.headers["x-should-retry"] == "false"
    assert requests == 1, "x-should-retry: false stops the SDK's own retries"


def test_an_ordinary_429_is_retried_by_the_sdk_as_it_says() -> None:
    limited = {"type": "http_error", "status": 429, "on_requests": [1], "retry_after_s": 0}
    with Simulator(speed=0, faults=json.dumps([limited])) as sim:
        client(sim.base_url, max_retries=2).messages.create(**plain_request())
        assert sim.stats()["requests"] == 2


def test_an_error_code_that_does_not_fit_its_status_is_refused() -> None:
    with pytest.raises(ValueError, match="does not go with status 402"):
        FaultSpec.of([HttpError(status=402, error_code="enforced_spend_limit_reached")]).faults[
            0
        ].check()
    with pytest.raises(ValueError, match="category must be one of"):
        Refusal(category="bad").check()


def test_every_response_carries_the_rate_limit_headers(sim: Simulator) -> None:
    sdk = client(sim.base_url)
    first = sdk.messages.with_raw_response.create(**plain_request(max_tokens=20))
    second = sdk.messages.with_raw_response.create(**plain_request(max_tokens=20))
    for family in ("requests", "tokens", "input-tokens", "output-tokens"):
        for part in ("limit", "remaining", "reset"):
            assert f"anthropic-ratelimit-{family}-{part}" in first.headers
    used = int(first.headers["anthropic-ratelimit-requests-remaining"]) - int(
        second.headers["anthropic-ratelimit-requests-remaining"]
    )
    assert (
        used == 1
        or second.headers["anthropic-ratelimit-requests-reset"]
        != first.headers["anthropic-ratelimit-requests-reset"]
    )
    assert int(second.headers["anthropic-ratelimit-output-tokens-remaining"]) < int(
        second.headers["anthropic-ratelimit-output-tokens-limit"]
    )
    with pytest.raises(anthropic.APIStatusError) as caught:
        sdk.messages.create(
            **plain_request(), extra_headers=fault_headers({"type": "http_error", "status": 529})
        )
    assert "anthropic-ratelimit-requests-remaining" in caught.value.response.headers
