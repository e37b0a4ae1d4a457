"""The bare SDK: `client.messages.stream(...)`, as its README shows it, with default retries.

Documented path (github.com/anthropics/anthropic-sdk-python, README, "Streaming helpers" and
"Retries"): `with client.messages.stream(...) as stream: for text in stream.text_stream`;
"Certain errors are automatically retried 2 times by default, with a short exponential
backoff": connection errors, 408, 409, 429 and >= 500, `max_retries=2`. Those retries cover
a request that fails before its stream opens (a 529, a refused connection); once the stream
is open, a dropped connection surfaces to the caller as the transport's error, and a stream
that simply ends without `message_stop` is returned as if it were complete.

The HTTP client is the SDK's own `DefaultHttpxClient` (its defaults kept) with a request
hook that counts requests at the transport. The SDK's own backoff sleeps in real time
(it takes no sleep); the simulator scales the `retry-after` it sends instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import anthropic

from planner.contenders.base import (
    ContenderResult,
    Endpoint,
    RunRecorder,
    TransportCount,
    installed_versions,
    request_text_params,
)

SDK_DEFAULT_MAX_RETRIES = 2


def counting_sdk(
    endpoint: Endpoint, counter: TransportCount, max_retries: int = SDK_DEFAULT_MAX_RETRIES
) -> anthropic.Anthropic:
    """An SDK client on `endpoint` whose every HTTP request `counter` sees."""
    return anthropic.Anthropic(
        api_key=endpoint.api_key,
        base_url=endpoint.base_url,
        default_headers=dict(endpoint.headers),
        max_retries=max_retries,
        http_client=anthropic.DefaultHttpxClient(event_hooks={"request": [counter]}),
    )


def stream_once(
    sdk: anthropic.Anthropic, request: Mapping[str, Any], recorder: RunRecorder
) -> tuple[str, bool]:
    """One `messages.stream` call as the README writes it: (its text, whether it finished).

    A stream that raises keeps its partial text in the recorder's token estimate before the
    error propagates; one that ended without `message_delta` reports no usage either.
    """
    model, system, messages = request_text_params(request)
    params: dict[str, Any] = {"model": model, "max_tokens": request["max_tokens"]}
    if system is not None:
        params["system"] = system
    pieces: list[str] = []
    try:
        with sdk.messages.stream(**params, messages=messages) as stream:
            for text in stream.text_stream:
                pieces.append(text)
                recorder.deliver(text)
            final = stream.current_message_snapshot
    except BaseException:
        recorder.estimate_tokens("".join(pieces))
        raise
    text = "".join(pieces)
    finished = final.stop_reason is not None
    recorder.attempt_tokens(text, final.usage.output_tokens if finished else None)
    return text, finished


class SdkStream:
    name = "sdk"

    def config(self) -> dict[str, Any]:
        return {
            "call": "client.messages.stream(...); text_stream",
            "max_retries": SDK_DEFAULT_MAX_RETRIES,
            "http_client": "anthropic.DefaultHttpxClient (request hook counts requests)",
        }

    def versions(self) -> dict[str, str]:
        return installed_versions("anthropic")

    def run(self, request: Mapping[str, Any], endpoint: Endpoint) -> ContenderResult:
        counter = TransportCount()
        sdk = counting_sdk(endpoint, counter)
        recorder = RunRecorder(self, counter)
        try:
            text, _ = stream_once(sdk, request, recorder)
        except Exception as exc:  # the library's failure is the run's result
            return recorder.result("", error=exc)
        finally:
            sdk.close()
        return recorder.result(text)


__all__ = ["SDK_DEFAULT_MAX_RETRIES", "SdkStream", "counting_sdk", "stream_once"]
