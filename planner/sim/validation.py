"""Request validation with the API's own error messages (400 invalid_request_error).

`check_request` returns the first problem found, as the API does, or what the simulator
needs to answer the request (the served model, its thinking plan). Unknown and retired
models are a 404 `not_found_error`, as on the API; the output cap and the context window
are the catalogue's. A prefill (a final assistant turn) is refused by a model whose
catalogue entry refuses it, and by every model while thinking is on or an output schema
(`output_config.format`, `planner.sim.structured`) is given.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from planner.sim.cache import cache_control_problem, input_tokens
from planner.sim.models import ModelProfile, served_model
from planner.sim.structured import PREFILL_WITH_SCHEMA, SchemaRefused, output_schema
from planner.sim.thinking import (
    PREFILL_WITH_THINKING,
    ThinkingPlan,
    ThinkingRefused,
    resolve_thinking,
)

PREFILL_REFUSED = (
    "This model does not support assistant message prefill. "
    "The conversation must end with a user message."
)
TRAILING_WHITESPACE = "messages: final assistant content cannot end with trailing whitespace"


@dataclass(frozen=True)
class RequestProblem:
    status: int
    message: str


def content_text(content: Any) -> str:
    """The text of a message's content: a string or a list of text blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            block.get("text", "")
            for block in content
            if isinstance(block, dict) and block.get("type") == "text"
        )
    return ""


def system_text(system: Any) -> str:
    return content_text(system)


def _check_content(index: int, content: Any) -> str | None:
    if isinstance(content, str):
        return None
    if not isinstance(content, list):
        return (
            f"messages.{index}.content: Input should be a valid string or a list of content blocks"
        )
    for block_index, block in enumerate(content):
        if not isinstance(block, dict) or "type" not in block:
            return f"messages.{index}.content.{block_index}: Input should be an object with a type"
        if block["type"] == "text" and not isinstance(block.get("text"), str):
            return f"messages.{index}.content.{block_index}.text: Field required"
    return None


def _check_messages(messages: Any) -> str | None:
    if not isinstance(messages, list):
        return "messages: Input should be a valid list"
    if not messages:
        return "messages: at least one message is required"
    for index, item in enumerate(messages):
        if not isinstance(item, dict):
            return f"messages.{index}: Input should be a valid dictionary"
        if item.get("role") not in ("user", "assistant"):
            return f"messages.{index}.role: Input should be 'user' or 'assistant'"
        if "content" not in item:
            return f"messages.{index}.content: Field required"
        if problem := _check_content(index, item["content"]):
            return problem
        is_final_assistant = index == len(messages) - 1 and item["role"] == "assistant"
        if (
            not is_final_assistant
            and not content_text(item["content"])
            and isinstance(item["content"], str)
        ):
            return (
                f"messages.{index}: all messages must have non-empty content except for the "
                "optional final assistant message"
            )
    if messages[0]["role"] != "user":
        return 'messages: first message must use the "user" role'
    return None


def _check_prefill(
    last: dict[str, Any], profile: ModelProfile, thinking: ThinkingPlan, has_schema: bool
) -> str | None:
    if last["role"] != "assistant":
        return None
    if not profile.supports_prefill:
        return PREFILL_REFUSED
    if has_schema:
        return PREFILL_WITH_SCHEMA
    if thinking.enabled:
        return PREFILL_WITH_THINKING
    text = content_text(last["content"])
    if text and text != text.rstrip():
        return TRAILING_WHITESPACE
    return None


@dataclass(frozen=True)
class CheckedRequest:
    """A request the simulator can answer: its model and how that model thinks."""

    profile: ModelProfile
    thinking: ThinkingPlan
    prompt_tokens: int
    schema: dict[str, Any] | None = None  # output_config.format's JSON schema


def _check_basics(body: Any) -> RequestProblem | None:
    if not isinstance(body, dict):
        return RequestProblem(400, "Request body must be a JSON object")
    for field in ("model", "max_tokens", "messages"):
        if field not in body:
            return RequestProblem(400, f"{field}: Field required")
    model = body["model"]
    if not isinstance(model, str) or not model:
        return RequestProblem(400, "model: Input should be a valid string")
    max_tokens = body["max_tokens"]
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool):
        return RequestProblem(400, "max_tokens: Input should be a valid integer")
    if max_tokens < 1:
        return RequestProblem(400, "max_tokens: Input should be greater than or equal to 1")
    return None


def check_request(
    body: Any, today: Callable[[], date] = date.today
) -> CheckedRequest | RequestProblem:
    """What the simulator needs to answer `body`, or the first problem the API would name."""
    if problem := _check_basics(body):
        return problem
    model, max_tokens = body["model"], body["max_tokens"]
    profile = served_model(model, today)
    if profile is None:
        return RequestProblem(404, f"model: {model}")
    if max_tokens > profile.max_output_tokens:
        return RequestProblem(
            400,
            f"max_tokens: {max_tokens} > {profile.max_output_tokens}, which is the maximum "
            f"allowed number of output tokens for {model}",
        )
    system = body.get("system")
    if system is not None and not isinstance(system, str | list):
        return RequestProblem(
            400, "system: Input should be a valid string or a list of text blocks"
        )
    if problem := _check_messages(body["messages"]):
        return RequestProblem(400, problem)
    try:
        thinking = resolve_thinking(body, profile)
    except ThinkingRefused as exc:
        return RequestProblem(400, str(exc))
    try:
        schema = output_schema(body)
    except SchemaRefused as exc:
        return RequestProblem(400, str(exc))
    if problem := _check_prefill(body["messages"][-1], profile, thinking, schema is not None):
        return RequestProblem(400, problem)
    stops = body.get("stop_sequences")
    if stops is not None and (
        not isinstance(stops, list) or not all(isinstance(s, str) and s.strip() for s in stops)
    ):
        return RequestProblem(400, "stop_sequences: each stop sequence must contain non-whitespace")
    if "stream" in body and not isinstance(body["stream"], bool):
        return RequestProblem(400, "stream: Input should be a valid boolean")
    if problem := cache_control_problem(body):
        return RequestProblem(400, problem)
    prompt = input_tokens(body)
    if prompt > profile.context_window:
        return RequestProblem(
            400, f"prompt is too long: {prompt} tokens > {profile.context_window} maximum"
        )
    return CheckedRequest(profile, thinking, prompt, schema)
