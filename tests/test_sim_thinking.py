"""Thinking as current models stream it, read through the real SDK: blocks, deltas, usage,
defaults per model and the settings the API refuses."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest

from planner.sim import Simulator
from planner.sim.thinking import BUDGET_BELOW_MAX_TOKENS, PREFILL_WITH_THINKING
from planner.tokens import count_tokens
from tests.sim_helpers import PREFILL_MODEL, client, plain_request

SONNET_55 = "claude-sonnet-5-5"  # thinking on by default, shown "omitted"
OPUS_55 = "claude-opus-5-5"  # always thinks
SONNET_5 = "claude-sonnet-5"  # thinking on by default, turned off with `disabled`
SONNET_46 = "claude-sonnet-4-6"  # thinks only when asked; shows it summarized


@pytest.fixture(scope="module")
def sim():
    with Simulator(speed=0) as running:
        yield running


def streamed(sim: Simulator, **request: Any) -> tuple[list[Any], anthropic.types.Message]:
    with client(sim.base_url).messages.stream(**{**plain_request(), **request}) as stream:
        events = list(stream)
        return events, stream.get_final_message()


def test_a_thinking_default_model_thinks_before_it_writes(sim: Simulator) -> None:
    events, message = streamed(sim, model=SONNET_55)
    thinking, text = message.content
    assert isinstance(thinking, anthropic.types.ThinkingBlock)
    assert isinstance(text, anthropic.types.TextBlock) and text.text
    assert thinking.thinking == "" and len(thinking.signature) > 40, "omitted by default"
    thought = message.usage.output_tokens_details.thinking_tokens
    assert thought > 0
    assert message.usage.output_tokens == thought + count_tokens(text.text)
    starts = [e.content_block.type for e in events if e.type == "content_block_start"]
    assert starts == ["thinking", "text"]


def test_summarized_thinking_streams_thinking_deltas_then_the_signature(sim: Simulator) -> None:
    events, message = streamed(
        sim, model=SONNET_55, thinking={"type": "adaptive", "display": "summarized"}
    )
    raw = [
        (e.type, getattr(e, "index", None), getattr(getattr(e, "delta", None), "type", None))
        for e in events
        if e.type.startswith("content_block")
    ]
    first_text = raw.index(("content_block_delta", 1, "text_delta"))
    before = raw[:first_text]
    assert before[0] == ("content_block_start", 0, None)
    assert ("content_block_delta", 0, "thinking_delta") in before
    assert before[-3:] == [
        ("content_block_delta", 0, "signature_delta"),
        ("content_block_stop", 0, None),
        ("content_block_start", 1, None),
    ]
    assert message.content[0].thinking


def test_a_budget_is_honoured_on_a_model_that_takes_one(sim: Simulator) -> None:
    _, plain = streamed(sim, model=PREFILL_MODEL)
    assert [block.type for block in plain.content] == ["text"], "Haiku 4.5 thinks when asked"
    _, message = streamed(
        sim, model=PREFILL_MODEL, thinking={"type": "enabled", "budget_tokens": 1500}
    )
    assert message.content[0].type == "thinking" and message.content[0].thinking
    assert 0 < message.usage.output_tokens_details.thinking_tokens <= 1500


@pytest.mark.parametrize(
    ("model", "off"),
    [(SONNET_55, "between_tools"), (SONNET_5, "disabled"), (SONNET_46, "disabled")],
)
def test_thinking_can_be_turned_off_where_the_model_allows_it(
    sim: Simulator, model: str, off: str
) -> None:
    _, message = streamed(sim, model=model, thinking={"type": off})
    assert [block.type for block in message.content] == ["text"]
    assert message.usage.output_tokens_details.thinking_tokens == 0


def test_max_tokens_spent_while_thinking_leaves_no_text(sim: Simulator) -> None:
    events, message = streamed(sim, model=OPUS_55, max_tokens=50, output_config={"effort": "max"})
    assert message.stop_reason == "max_tokens"
    assert [block.type for block in message.content] == ["thinking"]
    assert message.usage.output_tokens == message.usage.output_tokens_details.thinking_tokens == 50
    assert not [e for e in events if e.type == "text"]


def test_the_same_request_thinks_the_same_thoughts(sim: Simulator) -> None:
    request = {"model": SONNET_46, "thinking": {"type": "adaptive"}}
    first, second = (streamed(sim, **request)[1] for _ in range(2))
    assert first.content[0].thinking == second.content[0].thinking != ""
    assert first.content[0].signature == second.content[0].signature


def test_a_whole_message_carries_its_thinking_block(sim: Simulator) -> None:
    message = client(sim.base_url).messages.create(**plain_request(model=SONNET_55))
    assert [block.type for block in message.content] == ["thinking", "text"]
    assert message.usage.output_tokens_details.thinking_tokens > 0


@pytest.mark.parametrize(
    ("request_fields", "message"),
    [
        (
            {
                "model": PREFILL_MODEL,
                "max_tokens": 2000,
                "thinking": {"type": "enabled", "budget_tokens": 2000},
            },
            BUDGET_BELOW_MAX_TOKENS,
        ),
        (
            {"model": PREFILL_MODEL, "thinking": {"type": "enabled", "budget_tokens": 500}},
            "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024",
        ),
        (
            {"model": SONNET_55, "thinking": {"type": "enabled", "budget_tokens": 2000}},
            "thinking.type.enabled is not supported for this model",
        ),
        ({"model": OPUS_55, "thinking": {"type": "disabled"}}, "thinking cannot be disabled"),
        ({"model": OPUS_55, "thinking": {"type": "between_tools"}}, "thinking cannot be disabled"),
        # Sonnet 5.5 takes `between_tools` instead of `disabled`, and only up to "high"
        (
            {"model": SONNET_55, "thinking": {"type": "disabled"}},
            'Use thinking.type "between_tools"',
        ),
        (
            {
                "model": SONNET_55,
                "thinking": {"type": "between_tools"},
                "output_config": {"effort": "xhigh"},
            },
            '"between_tools" is supported at output_config.effort "low", "medium" and "high"',
        ),
        (
            {"model": SONNET_5, "thinking": {"type": "between_tools"}},
            'thinking.type "between_tools" is not supported for this model',
        ),
        ({"model": PREFILL_MODEL, "thinking": {"type": "adaptive"}}, '"adaptive" is not supported'),
        (
            {"model": PREFILL_MODEL, "output_config": {"effort": "low"}},
            "does not support the effort",
        ),
        ({"model": SONNET_46, "output_config": {"effort": "xhigh"}}, "'xhigh' is not supported"),
        ({"model": SONNET_55, "output_config": {"effort": "huge"}}, "output_config.effort: Input"),
        ({"model": SONNET_55, "thinking": {"type": "sometimes"}}, "does not match any of the"),
    ],
)
def test_settings_the_api_refuses_are_refused(
    sim: Simulator, request_fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        client(sim.base_url).messages.create(**{**plain_request(), **request_fields})
    assert caught.value.type == "invalid_request_error"
    assert message in caught.value.api_message


def test_a_prefill_is_refused_while_thinking_is_on(sim: Simulator) -> None:
    request = plain_request(
        model=PREFILL_MODEL, thinking={"type": "enabled", "budget_tokens": 1024}
    )
    request["messages"] = [*request["messages"], {"role": "assistant", "content": "Sure"}]
    with pytest.raises(anthropic.BadRequestError) as caught:
        client(sim.base_url).messages.create(**request)
    assert caught.value.api_message == PREFILL_WITH_THINKING
