"""LangChain: `ChatAnthropic(...).with_retry().stream(messages)`, as the references show it.

Documented path: `ChatAnthropic` (reference.langchain.com/python/integrations/
langchain_anthropic/ChatAnthropic: `max_retries`, "Number of retries allowed for requests
sent to the Claude API", default 2, the SDK's own default, handed to the SDK) and
`Runnable.with_retry` (reference.langchain.com/python/langchain-core/runnables/base/
Runnable/with_retry: "Create a new Runnable that retries the original Runnable on
exceptions", defaults `retry_if_exception_type=(Exception,)`, `wait_exponential_jitter=True`,
`stop_after_attempt=3`). `RunnableRetry` retries `invoke` and `batch`; `stream` passes
straight through to the model, so a stream that breaks is never retried, and one that
ends without `message_stop` comes back as if complete. The SDK's own retries still cover a
request refused before its stream opens.

ChatAnthropic builds its SDK client itself (cached per base URL) and takes no HTTP client,
so requests are read off the simulator's admin stats.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_anthropic import ChatAnthropic
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from planner.contenders.base import (
    ContenderResult,
    Endpoint,
    RunRecorder,
    SimulatorCount,
    installed_versions,
    request_text_params,
)

MAX_RETRIES = 2
WITH_RETRY_DEFAULTS = {
    "retry_if_exception_type": "(Exception,)",
    "wait_exponential_jitter": True,
    "stop_after_attempt": 3,
}


def langchain_messages(system: Any, messages: list[dict[str, Any]]) -> list[BaseMessage]:
    converted: list[BaseMessage] = [] if system is None else [SystemMessage(content=system)]
    for message in messages:
        kind = HumanMessage if message["role"] == "user" else AIMessage
        converted.append(kind(content=message["content"]))
    return converted


class LangChainRetry:
    name = "langchain"

    def config(self) -> dict[str, Any]:
        return {
            "call": "ChatAnthropic(...).with_retry().stream(messages)",
            "max_retries": MAX_RETRIES,
            "with_retry": dict(WITH_RETRY_DEFAULTS),
            "requests_counted_by": "simulator admin stats",
        }

    def versions(self) -> dict[str, str]:
        return installed_versions("langchain-anthropic", "langchain-core", "anthropic")

    def run(self, request: Mapping[str, Any], endpoint: Endpoint) -> ContenderResult:
        model, system, messages = request_text_params(request)
        chat = ChatAnthropic(
            model=model,
            api_key=endpoint.api_key,
            base_url=endpoint.base_url,
            default_headers=dict(endpoint.headers),
            max_tokens=request["max_tokens"],
            max_retries=MAX_RETRIES,
        )
        runnable = chat.with_retry()
        recorder = RunRecorder(self, SimulatorCount(endpoint))
        pieces: list[str] = []
        output_tokens = None
        try:
            for chunk in runnable.stream(langchain_messages(system, messages)):
                pieces.append(chunk.text)
                recorder.deliver(chunk.text)
                if chunk.usage_metadata and chunk.usage_metadata.get("output_tokens"):
                    output_tokens = chunk.usage_metadata["output_tokens"]
        except Exception as exc:  # the library's failure is the run's result
            return recorder.streamed(pieces, error=exc)
        return recorder.streamed(pieces, output_tokens)


__all__ = ["LangChainRetry", "langchain_messages"]
