"""The client against the simulator's current-API behaviours, end to end over loopback:
thinking models (a drop while thinking, a drop after text began, max_tokens spent while
thinking), a refusal mid-stream, the spend-cap 429 and the rate-limit headers."""

from __future__ import annotations

import pytest

from planner.llm import Progress
from planner.plan.model import PLANNING_MODEL
from planner.sim import Simulator
from tests.llm_helpers import generate, kinds, make_client, spec
from tests.sim_helpers import discovery

THINKER = "claude-sonnet-5-5"  # thinking on by default; refuses prefill


def thinking_shown(request: dict) -> dict:
    """Summarized thinking: with the default `omitted` display nothing of a think arrives
    before the final usage, so a think cut short cannot be counted."""
    return {**request, "thinking": {"type": "adaptive", "display": "summarized"}}


@pytest.fixture(scope="module")
def sim():
    with Simulator(speed=0, model=PLANNING_MODEL) as running:
        yield running


@pytest.fixture(scope="module")
def fault_free(sim) -> str:
    result = generate(make_client(sim.base_url, "none"), discovery(THINKER))
    assert result.complete and result.usage.thinking_tokens > 0
    return result.text


def test_a_thinking_model_recovers_a_drop_after_text_began_to_the_same_answer(
    sim, fault_free
) -> None:
    progress: list[Progress] = []
    result = generate(
        make_client(sim.base_url, "resume"),
        thinking_shown(discovery(THINKER)),
        spec({"type": "reset", "at_fraction": 0.5, "on_requests": [1]}),
        on_progress=progress.append,
    )
    assert result.complete and result.text == fault_free
    assert kinds(result) == [("stream", "connection_dropped"), ("continue", None)]
    assert result.attempts[1].seam in ("exact", "repeat")
    assert any(p.phase == "thinking" and p.chars == 0 for p in progress)
    assert result.attempts[0].thinking_tokens > 0


def test_a_drop_while_thinking_starts_again_keeping_nothing(sim, fault_free) -> None:
    result = generate(
        make_client(sim.base_url, "resume"),
        thinking_shown(discovery(THINKER)),
        spec({"type": "reset", "after_bytes": 700, "on_requests": [1]}),
    )
    assert result.complete and result.text == fault_free
    first = result.attempts[0]
    assert (first.kind, first.chars) == ("stream", 0) and first.thinking_tokens > 0
    assert result.attempts[1].kind == "stream"
    assert result.wasted_thinking_tokens >= first.thinking_tokens


def test_max_tokens_spent_while_thinking_is_never_sent_again_unchanged(sim) -> None:
    request = {**discovery(THINKER), "max_tokens": 300}
    result = generate(make_client(sim.base_url, "resume"), request, output_budget_tokens=20_000)
    sent = [a.max_tokens for a in result.attempts]
    assert result.attempts[0].error_type == "max_tokens"
    assert result.attempts[0].decision == "raise_max_tokens"
    assert sent[:2] == [300, 600]
    assert result.adjustments[0] == "max_tokens 300 -> 600"
    assert result.wasted_thinking_tokens > 0


def test_a_refusal_mid_stream_is_unretried_and_discards_the_text(sim) -> None:
    result = generate(
        make_client(sim.base_url, "resume"),
        discovery(THINKER),
        spec({"type": "refusal", "at_fraction": 0.3, "category": "cyber"}),
    )
    assert (result.complete, result.text, result.error_type) == (False, "", "refusal")
    assert len(result.attempts) == 1 and "cyber" in (result.error or "")


def test_the_spend_cap_fails_at_once(sim) -> None:
    cap = {"type": "http_error", "status": 429, "error_code": "enforced_spend_limit_reached"}
    result = generate(make_client(sim.base_url, "resume"), discovery(THINKER), spec(cap))
    assert kinds(result) == [("stream", "spend_limit")]


def test_every_attempt_records_the_rate_limit_headers(sim) -> None:
    result = generate(make_client(sim.base_url, "resume"), discovery(THINKER))
    [attempt] = result.attempts
    assert attempt.http_status == 200
    assert any(name.startswith("anthropic-ratelimit-") for name in attempt.rate_limit)


def test_ten_drops_that_each_moved_the_answer_forward_do_not_end_in_gave_up(sim) -> None:
    model = "claude-haiku-4-5"  # accepts a prefill: each resume writes on exactly
    clean = generate(make_client(sim.base_url, "none"), discovery(model))
    drops = spec({"type": "reset", "at_fraction": 0.3, "on_requests": list(range(1, 11))})
    result = generate(
        make_client(sim.base_url, "resume", max_attempts=3),
        discovery(model),
        drops,
        output_budget_tokens=10_000,
    )
    assert result.complete and result.text == clean.text
    assert len(result.attempts) == 11 and all(a.chars > 0 for a in result.attempts)
