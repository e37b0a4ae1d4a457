"""The simulator's maximum delta throughput at unlimited speed (speed=0).

The simulator runs in its own process (`planner sim --speed 0`), so the figures are not
shared with the client's GIL; the client is the real anthropic SDK (sync, then async
with several concurrent streams), plus a lean httpx2 reader showing the server's own
ceiling. Each stream is a 120-task MasterPlan (~19,000 tokens).
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
from pathlib import Path

import anthropic
import httpx2

from planner.plan.prompts import masterplan_request
from planner.plan.schema import Discovery

ROOT = Path(__file__).resolve().parent.parent
STREAMS = 6
CONCURRENCY = 8


def _request() -> dict:
    found = Discovery.model_validate(
        {
            "domain": "camping gear rental",
            "bounded_contexts": [{"name": "Rentals", "aggregates": ["Booking"]}],
        }
    )
    return masterplan_request(
        "A marketplace for renting camping gear", found, 120, "claude-haiku-4-5"
    )


def _start_server() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "planner", "sim", "--port", "0", "--speed", "0"],
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert process.stderr is not None
    line = process.stderr.readline()
    match = re.search(r"listening on (\S+)", line)
    if match is None:
        process.kill()
        raise RuntimeError(f"planner sim did not start: {line}")
    return process, match.group(1)


def _sync_sdk(base_url: str, request: dict) -> tuple[int, int]:
    sdk = anthropic.Anthropic(api_key="x", base_url=base_url, max_retries=0)
    deltas = tokens = 0
    for _ in range(STREAMS):
        with sdk.messages.stream(**request) as stream:
            for event in stream:
                if event.type == "content_block_delta":
                    deltas += 1
            tokens += stream.get_final_message().usage.output_tokens
    return deltas, tokens


async def _async_sdk(base_url: str, request: dict) -> tuple[int, int]:
    sdk = anthropic.AsyncAnthropic(api_key="x", base_url=base_url, max_retries=0)

    async def one() -> tuple[int, int]:
        deltas = 0
        async with sdk.messages.stream(**request) as stream:
            async for event in stream:
                deltas += event.type == "content_block_delta"
            return deltas, (await stream.get_final_message()).usage.output_tokens

    results = await asyncio.gather(*(one() for _ in range(CONCURRENCY)))
    return sum(d for d, _ in results), sum(t for _, t in results)


def _raw(base_url: str, request: dict) -> tuple[int, int]:
    deltas = 0
    with httpx2.Client(timeout=60) as http:
        for _ in range(STREAMS):
            with http.stream(
                "POST", f"{base_url}/v1/messages", json={**request, "stream": True}
            ) as r:
                for chunk in r.iter_bytes():
                    deltas += chunk.count(b"event: content_block_delta")
    tokens = deltas * 3  # deltas carry 1-5 tokens, 3 on average
    return deltas, tokens


def _report(label: str, started: float, counts: tuple[int, int]) -> None:
    elapsed = time.perf_counter() - started
    deltas, tokens = counts
    print(
        f"{label:<34} {deltas / elapsed:>10,.0f} deltas/s {tokens / elapsed:>10,.0f} tokens/s"
        f"   ({deltas:,} deltas in {elapsed:.2f} s)"
    )


def main() -> None:
    request = _request()
    process, base_url = _start_server()
    try:
        _sync_sdk(base_url, request)  # warm the plan writer's cache and the connections
        started = time.perf_counter()
        _report("SDK sync, 1 stream at a time", started, _sync_sdk(base_url, request))
        started = time.perf_counter()
        _report(
            f"SDK async, {CONCURRENCY} concurrent streams",
            started,
            asyncio.run(_async_sdk(base_url, request)),
        )
        started = time.perf_counter()
        _report("raw httpx2 reader (server ceiling)", started, _raw(base_url, request))
        real_pace = 130  # tokens/s of the default Sonnet-like model at speed 1
        print(f"a real Sonnet-class stream is ~{real_pace} tokens/s")
    finally:
        process.terminate()
        process.wait(timeout=20)


if __name__ == "__main__":
    main()
