"""LiteLLM's two documented recovery paths: `completion(num_retries=2)` and the Router.

`litellm`: "Reliability - Retries, Fallbacks" (docs.litellm.ai/docs/completion/
reliable_completions): "Call it in completion like this `completion(..num_retries=2)`",
here with `stream=True`. The retries cover a request that fails before its stream opens;
once text has arrived, LiteLLM's stream wrapper turns a broken stream, or one that ended
without its finish reason, into `MidStreamFallbackError` for a Router to act on, and a plain
`completion` has no Router, so it raises.

`litellm-router`: the Router (docs.litellm.ai/docs/proxy/reliability, "Fallbacks": "If a
call fails after num_retries, fallback to another model group"; `fallbacks=[{"a": ["b"]}]`)
with `enable_mid_stream_fallback_continuation=True`, whose reference is the Router's own
docstring (litellm/router.py): "a chat-completions stream that breaks after plain assistant
text has been delivered continues on a fallback deployment via assistant prefill instead of
surfacing the error. Only deployments whose model supports assistant prefill are eligible
... if none is, the original error is surfaced ... Async-only." So the model list holds the
primary deployment and a fallback deployment of the same model on the same endpoint, the
call is `await router.acompletion(..., stream=True)` (run on its own event loop), and on a
model the cost map marks as refusing prefill the Router declines to continue.

Offline: LiteLLM fetches its model cost map (and a few catalogues) from the network at
import unless told not to ("Outbound Requests and Offline Mode",
docs.litellm.ai/docs/proxy/outbound_requests: `LITELLM_OFFLINE_MODE=true`, and the
per-feature `LITELLM_LOCAL_MODEL_COST_MAP=true`). Both are set, unless the caller set them,
before LiteLLM is imported; `litellm.suppress_debug_info` keeps its "Give Feedback" banner
off the caller's stdout. LiteLLM takes no HTTP client for Anthropic here, so requests are
read off the simulator's admin stats, and its sleeps are its own (real time).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Coroutine, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

os.environ.setdefault("LITELLM_OFFLINE_MODE", "true")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "true")

import litellm  # noqa: E402  (the settings above are read when it is imported)

from planner.contenders.base import (  # noqa: E402
    ContenderResult,
    Endpoint,
    RunRecorder,
    SimulatorCount,
    installed_versions,
    request_text_params,
)

litellm.suppress_debug_info = True

NUM_RETRIES = 2
PRIMARY = "claude"
FALLBACK = "claude-fallback"


def openai_messages(system: Any, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The request's turns in the chat-completions shape LiteLLM takes (system first)."""
    return ([] if system is None else [{"role": "system", "content": system}]) + messages


def _chunk_text(chunk: Any) -> str:
    if not chunk.choices:
        return ""
    return chunk.choices[0].delta.content or ""


def _chunk_output_tokens(chunk: Any) -> int | None:
    usage = getattr(chunk, "usage", None)
    return None if usage is None else usage.completion_tokens


def run_coroutine(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run on a fresh event loop, in a thread of its own when the caller is inside one
    (a notebook), since `asyncio.run` cannot nest."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


class LiteLLMCompletion:
    name = "litellm"

    def config(self) -> dict[str, Any]:
        return {
            "call": "litellm.completion(model='anthropic/<model>', stream=True, ...)",
            "num_retries": NUM_RETRIES,
            "stream_options": {"include_usage": True},
            "LITELLM_OFFLINE_MODE": os.environ["LITELLM_OFFLINE_MODE"],
            "requests_counted_by": "simulator admin stats",
        }

    def versions(self) -> dict[str, str]:
        return installed_versions("litellm")

    def run(self, request: Mapping[str, Any], endpoint: Endpoint) -> ContenderResult:
        model, system, messages = request_text_params(request)
        recorder = RunRecorder(self, SimulatorCount(endpoint))
        pieces: list[str] = []
        output_tokens = None
        try:
            response = litellm.completion(
                model=f"anthropic/{model}",
                messages=openai_messages(system, messages),
                api_base=endpoint.base_url,
                api_key=endpoint.api_key,
                extra_headers=dict(endpoint.headers),
                max_tokens=request["max_tokens"],
                stream=True,
                stream_options={"include_usage": True},
                num_retries=NUM_RETRIES,
            )
            for chunk in response:
                piece = _chunk_text(chunk)
                pieces.append(piece)
                recorder.deliver(piece)
                output_tokens = _chunk_output_tokens(chunk) or output_tokens
        except Exception as exc:  # the library's failure is the run's result
            return recorder.streamed(pieces, error=exc)
        return recorder.streamed(pieces, output_tokens)


class LiteLLMRouter:
    """The Router's usage after a continuation covers neither leg as sent, so its tokens are
    always counted from the text it delivered (marked estimated)."""

    name = "litellm-router"

    def config(self) -> dict[str, Any]:
        return {
            "call": "await Router(...).acompletion(model='claude', stream=True, ...)",
            "model_list": [
                {"model_name": PRIMARY, "litellm_params": "anthropic/<model> on the endpoint"},
                {"model_name": FALLBACK, "litellm_params": "the same deployment"},
            ],
            "fallbacks": [{PRIMARY: [FALLBACK]}],
            "num_retries": NUM_RETRIES,
            "enable_mid_stream_fallback_continuation": True,
            "LITELLM_OFFLINE_MODE": os.environ["LITELLM_OFFLINE_MODE"],
            "requests_counted_by": "simulator admin stats",
        }

    def versions(self) -> dict[str, str]:
        return installed_versions("litellm")

    def run(self, request: Mapping[str, Any], endpoint: Endpoint) -> ContenderResult:
        model, system, messages = request_text_params(request)
        deployment = {
            "model": f"anthropic/{model}",
            "api_base": endpoint.base_url,
            "api_key": endpoint.api_key,
        }
        router = litellm.Router(
            model_list=[
                {"model_name": PRIMARY, "litellm_params": deployment},
                {"model_name": FALLBACK, "litellm_params": dict(deployment)},
            ],
            fallbacks=[{PRIMARY: [FALLBACK]}],
            num_retries=NUM_RETRIES,
            enable_mid_stream_fallback_continuation=True,
        )
        recorder = RunRecorder(self, SimulatorCount(endpoint))
        pieces: list[str] = []

        async def stream() -> None:
            response = await router.acompletion(
                model=PRIMARY,
                messages=openai_messages(system, messages),
                extra_headers=dict(endpoint.headers),
                max_tokens=request["max_tokens"],
                stream=True,
            )
            async for chunk in response:
                piece = _chunk_text(chunk)
                pieces.append(piece)
                recorder.deliver(piece)

        try:
            run_coroutine(stream())
        except Exception as exc:  # the library's failure is the run's result
            return recorder.streamed(pieces, error=exc)
        return recorder.streamed(pieces)


__all__ = ["LiteLLMCompletion", "LiteLLMRouter", "openai_messages", "run_coroutine"]
