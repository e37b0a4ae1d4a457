"""Every failure the real SDK raises against the real simulator lands in the right place."""

from __future__ import annotations

import socket
from email.utils import formatdate

import httpx2
import pytest

from planner.errors import LLMError, PlannerError
from planner.llm import errors
from planner.plan.model import PLANNING_MODEL
from planner.sim import Simulator
from tests.llm_helpers import FakeTime, generate, make_client, spec
from tests.sim_helpers import discovery

SONNET_45 = "claude-haiku-4-5"
SONNET_46 = "claude-sonnet-4-6"


@pytest.fixture(scope="module")
def sim():
    with Simulator(speed=0, model=PLANNING_MODEL) as running:
        yield running


def single_failure(base_url: str, faults: str, request: dict | None = None, **options) -> tuple:
    result = generate(make_client(base_url, "none", **options), request or discovery(), faults)
    assert not result.complete and result.tier == "failed"
    [attempt] = result.attempts
    return result, attempt


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        ({"type": "reset", "at_fraction": 0.5}, "connection_dropped"),
        ({"type": "eof", "at_fraction": 0.5}, "truncated"),
        ({"type": "sse_error", "error_type": "overloaded_error", "at_fraction": 0.5}, "sse_error"),
        ({"type": "sse_error", "error_type": "api_error", "at_fraction": 0.5}, "sse_error"),
    ],
)
def test_mid_stream_failures_keep_the_text_and_name_the_failure(sim, fault, kind) -> None:
    result, attempt = single_failure(sim.base_url, spec(fault))
    assert attempt.error_type == kind == result.error_type
    assert 0 < len(result.text) == attempt.chars, "the partial text is returned, not lost"
    assert attempt.request_id and attempt.request_id.startswith("req_")
    assert result.error


def test_sse_error_keeps_the_event_type(sim) -> None:
    result, _ = single_failure(sim.base_url, spec({"type": "sse_error", "error_type": "api_error"}))
    assert "api_error" in (result.error or "")


@pytest.mark.parametrize(
    ("status", "kind"),
    [(429, "rate_limited"), (529, "overloaded"), (500, "server_error"), (503, "server_error")],
)
def test_http_errors_before_the_stream(sim, status, kind) -> None:
    result, attempt = single_failure(sim.base_url, spec({"type": "http_error", "status": status}))
    assert attempt.error_type == kind
    assert result.text == "" and attempt.chars == 0
    assert str(status) in (result.error or "")


def test_stall_is_a_read_timeout_mid_stream() -> None:
    # 50 simulated minutes of silence at speed 1000 is 3 real seconds; the client waits 0.5 s.
    with Simulator(speed=1000, model=PLANNING_MODEL) as slow:
        fault = {"type": "stall", "at_fraction": 0.5, "stall_ms": 3_000_000}
        result, attempt = single_failure(slow.base_url, spec(fault), read_timeout_s=0.5)
    assert attempt.error_type == "stalled"
    assert len(result.text) > 0


def test_wrong_api_key_fails_at_once_with_a_clear_message() -> None:
    with Simulator(speed=0, api_key="right", model=PLANNING_MODEL) as guarded:
        fake = FakeTime()
        result = generate(
            make_client(guarded.base_url, "resume", fake, api_key="wrong"), discovery()
        )
    assert result.tier == "failed" and result.error_type == "authentication"
    assert len(result.attempts) == 1 and fake.sleeps == []
    assert "ANTHROPIC_API_KEY" in (result.error or "")


def test_unknown_model_is_not_found_and_not_retried(sim) -> None:
    result = generate(
        make_client(sim.base_url, "resume"), {**discovery(), "model": "claude-nope-9"}
    )
    assert result.error_type == "not_found" and len(result.attempts) == 1
    assert "model" in (result.error or "")


def test_invalid_request_is_not_retried(sim) -> None:
    result = generate(make_client(sim.base_url, "restart"), {**discovery(), "max_tokens": 10**6})
    assert result.error_type == "invalid_request" and len(result.attempts) == 1
    assert "max_tokens" in (result.error or "")


def test_refused_prefill_is_recognised(sim) -> None:
    request = {
        **discovery(SONNET_46),
        "messages": [*discovery()["messages"], {"role": "assistant", "content": "{"}],
    }
    result = generate(make_client(sim.base_url, "none"), request)
    assert result.error_type == "prefill_refused"


def test_trailing_whitespace_prefill_is_an_invalid_request_not_a_refusal(sim) -> None:
    request = {
        **discovery(SONNET_45),
        "messages": [*discovery()["messages"], {"role": "assistant", "content": "{ "}],
    }
    result = generate(make_client(sim.base_url, "resume"), request)
    assert result.error_type == "invalid_request" and len(result.attempts) == 1


def test_nobody_listening_is_a_connect_failure() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result, attempt = single_failure(f"http://127.0.0.1:{port}", "none", connect_timeout_s=2)
    assert attempt.error_type == "connect_failed"


def test_max_tokens_is_not_an_answer(sim) -> None:
    result, attempt = single_failure(sim.base_url, "none", {**discovery(), "max_tokens": 50})
    assert attempt.stop_reason == "max_tokens" and attempt.error_type == "max_tokens"
    assert result.text


def test_retry_after_headers() -> None:
    assert errors.parse_retry_after(httpx2.Headers({"retry-after-ms": "1500"})) == 1.5
    assert errors.parse_retry_after(httpx2.Headers({"retry-after": "3"})) == 3.0
    assert (
        errors.parse_retry_after(httpx2.Headers({"retry-after-ms": "250", "retry-after": "9"}))
        == 0.25
    ), "the precise header wins"
    date = formatdate(1_000_010, usegmt=True)
    assert errors.parse_retry_after(httpx2.Headers({"retry-after": date}), now=1_000_000) == 10
    assert errors.parse_retry_after(httpx2.Headers({"retry-after": "soon"})) is None
    assert errors.parse_retry_after(httpx2.Headers({})) is None


def test_rate_limit_wait_comes_from_the_response_headers(sim) -> None:
    """The simulator scales retry-after to its clock; at speed 0 it asks for 1 ms."""
    fake = FakeTime()
    fault = {"type": "http_error", "status": 429, "retry_after_s": 5, "on_requests": [1]}
    result = generate(make_client(sim.base_url, "restart", fake), discovery(), spec(fault))
    assert result.complete and fake.sleeps == [0.001]


def test_failures_are_translated_not_leaked() -> None:
    assert errors.classify(ValueError("a bug")) is None
    dropped = errors.classify(httpx2.RemoteProtocolError("peer closed"))
    assert isinstance(dropped, errors.ConnectionDropped) and isinstance(
        dropped, errors.TransientError
    )
    assert isinstance(errors.classify(httpx2.ReadTimeout("slow")), errors.StreamStalled)


def test_every_llm_failure_is_a_planner_error_a_front_end_shows_in_one_line() -> None:
    failure = errors.classify(httpx2.RemoteProtocolError("peer closed"))
    assert isinstance(failure, LLMError) and isinstance(failure, PlannerError)
    assert failure.exit_code == LLMError.exit_code == 7
    assert "\n" not in str(failure)
