"""The SDK's `messages.stream`, the whole stream retried by tenacity: the common recipe.

Documented path: tenacity's `wait_random_exponential` ("Random wait with exponentially
widening window", its docstring, tenacity.readthedocs.io, API reference), in the recipe the
provider cookbooks give for LLM calls (openai-cookbook, examples/How_to_handle_rate_limits.ipynb,
"Example #1: Using the Tenacity library"):
`@retry(wait=wait_random_exponential(min=1, max=60), stop=stop_after_attempt(6))` around
the call, which retries on any exception. The SDK underneath keeps its default
`max_retries=2`. Here the call is a whole `messages.stream(...)` read to its end, so a
dropped stream is started again from the beginning and the consumer, who was handed the
first attempt's text as it streamed, is handed the answer a second time. A stream that ends
without `message_stop` raises nothing, so tenacity returns it as it is.

tenacity takes the sleep it waits with, so its waits run in the endpoint's time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tenacity import Retrying, stop_after_attempt, wait_random_exponential

from planner.contenders.base import (
    ContenderResult,
    Endpoint,
    RunRecorder,
    TransportCount,
    installed_versions,
)
from planner.contenders.sdk_stream import SDK_DEFAULT_MAX_RETRIES, counting_sdk, stream_once

WAIT_MIN_S = 1
WAIT_MAX_S = 60
ATTEMPTS = 6


class SdkTenacity:
    name = "sdk-tenacity"

    def config(self) -> dict[str, Any]:
        return {
            "call": "client.messages.stream(...) read to the end, inside tenacity.Retrying",
            "retry": "any exception (tenacity's default)",
            "wait": f"wait_random_exponential(min={WAIT_MIN_S}, max={WAIT_MAX_S})",
            "stop": f"stop_after_attempt({ATTEMPTS})",
            "sdk_max_retries": SDK_DEFAULT_MAX_RETRIES,
        }

    def versions(self) -> dict[str, str]:
        return installed_versions("anthropic", "tenacity")

    def run(self, request: Mapping[str, Any], endpoint: Endpoint) -> ContenderResult:
        counter = TransportCount()
        sdk = counting_sdk(endpoint, counter)
        recorder = RunRecorder(self, counter)
        retrying = Retrying(
            wait=wait_random_exponential(min=WAIT_MIN_S, max=WAIT_MAX_S),
            stop=stop_after_attempt(ATTEMPTS),
            sleep=endpoint.sleep,
        )
        try:
            text, _ = retrying(stream_once, sdk, request, recorder)
        except Exception as exc:  # RetryError once every attempt failed
            return recorder.result("", error=exc)
        finally:
            sdk.close()
        return recorder.result(text)


__all__ = ["SdkTenacity"]
