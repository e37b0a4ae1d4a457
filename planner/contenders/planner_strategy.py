"""planner's own strategies as contenders, so one runner measures them beside the others.

`PlannerStrategy("resume")` runs `planner.llm.ResilientClient` with that strategy on the
endpoint, exactly as planner's generator does for one stage (no recording, no parsing):
the same judge, the same measures. A strategy's failure is a result, not an exception; the
client reports it (`complete=False`), which the judge counts as raised. Tokens are the
client's own ledger; an attempt that ended without a stop reason was estimated by it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import anthropic

from planner.contenders.base import (
    ContenderResult,
    Endpoint,
    RunRecorder,
    TransportCount,
    installed_versions,
)
from planner.llm import REGISTRY, Chunk, ResilientClient, UnknownStrategy


class PlannerStrategy:
    def __init__(self, strategy: str) -> None:
        if strategy not in REGISTRY:
            raise UnknownStrategy(strategy)
        self.strategy = strategy
        self.name = f"planner-{strategy}"

    def config(self) -> dict[str, Any]:
        return {"client": "planner.llm.ResilientClient", "strategy": self.strategy}

    def versions(self) -> dict[str, str]:
        return installed_versions("planner", "anthropic")

    def run(self, request: Mapping[str, Any], endpoint: Endpoint) -> ContenderResult:
        counter = TransportCount()
        client = ResilientClient(
            api_key=endpoint.api_key,
            base_url=endpoint.base_url,
            strategy=self.strategy,
            default_headers=dict(endpoint.headers),
            sleep=endpoint.sleep,
            http_client=anthropic.DefaultHttpxClient(event_hooks={"request": [counter]}),
        )
        recorder = RunRecorder(self, counter)

        def on_chunk(chunk: Chunk) -> None:
            recorder.deliver(chunk.text)

        result = client.generate(dict(request), on_chunk=on_chunk)
        recorder.add_tokens(result.usage.output_tokens)
        recorder.tokens_estimated = any(a.stop_reason is None and a.chars for a in result.attempts)
        if result.complete:
            return recorder.result(result.text)
        return replace(
            recorder.result("", claimed_success=False),
            error_type=f"planner.{result.error_type}",
            error_message=result.error,
        )


__all__ = ["PlannerStrategy"]
