"""Resilient client benchmarks, printed as ratios.

1. Overhead: `ResilientClient.generate` against the raw SDK event loop (iterating the
   events of `messages.create(stream=True)`, the cheapest loop the SDK allows and what the
   client itself reads; the `text_stream` helper rebuilds a message snapshot per delta and
   costs far more, so it is shown for scale only) on the same fault-free, long,
   many-chunk stream at unlimited simulator speed, without and with the callbacks the
   generator attaches (chunk, checkpoint, progress, attempt; no-ops here, so only the
   client's own cost of serving them counts), in client-thread CPU time. Rounds are
   interleaved; the figure is the median of the per-round ratios with quartiles, n and the
   95% interval of the median, and the target (< 1.05x the raw loop) is met only when
   that interval's upper bound is under it. Also shown per delta, the figure a change to
   the client's hot path (attempt.py, timeline.py) must not make worse.
2. Recovery cost of one dropped connection at 10/50/90% of a long MasterPlan, per
   strategy, over RECOVERY_REPEATS runs each (the median of all of them, with quartiles
   and n, never the last run): how many runs completed, output tokens generated / tokens
   in the final text, and wall time / the fault-free wall time, at a realistic pace
   scaled up `RECOVERY_SPEED` times (backoff waits scaled alike). Targets for resume:
   tokens < 1.02, time < 1.10, met only on the interval's upper bound.
3. Success rate over `FLAKY_GENERATIONS` generations under the `flaky` profile, per
   strategy (target for resume: 100%).

`python -m benchmarks llm` runs it; PLANNER_BENCH_QUICK=1 makes every part smaller.
"""

from __future__ import annotations

import json
import os
import statistics
import time
import uuid
from typing import Any

import anthropic

from planner.contenders.stats import Summary, describe, median_interval, met
from planner.llm import STRATEGIES, GenerationResult, ResilientClient
from planner.plan.model import PLANNING_MODEL
from planner.plan.prompts import masterplan_request
from planner.plan.schema import Discovery
from planner.protocol import FAULTS_HEADER, RUN_HEADER, SEED_HEADER
from planner.sim import Simulator
from planner.tokens import count_tokens

QUICK = os.environ.get("PLANNER_BENCH_QUICK") == "1"
MODEL = "claude-sonnet-4-5"
NO_PREFILL_MODEL = "claude-sonnet-4-6"
LONG_PLAN_TASKS = 120
OVERHEAD_ROUNDS = 6 if QUICK else 9  # 6: the fewest with a 95% interval of the median
RECOVERY_SPEED = 60.0
RECOVERY_REPEATS = 6  # >= 5 always; 6 gives the median a 95% interval
RECOVERY_TASKS = 12 if QUICK else 40
CPU_TARGET = 1.05
TOKEN_TARGET = 1.02
TIME_TARGET = 1.10
FLAKY_GENERATIONS = 40 if QUICK else 200
FLAKY_TASKS = 8
FLAKY_MODELS = (MODEL, NO_PREFILL_MODEL)


def plan_request(task_count: int, model: str = MODEL) -> dict[str, Any]:
    discovery = Discovery.model_validate(
        {
            "domain": "camping gear rental",
            "bounded_contexts": [
                {"name": "Rentals", "aggregates": ["Booking", "GearItem"]},
                {"name": "Payments", "aggregates": ["Payment"]},
            ],
            "services": [{"name": "BookingService"}],
        }
    )
    description = "A marketplace for renting camping gear with bookings, payments and reviews"
    return masterplan_request(description, discovery, task_count, model)


def _headers(faults: str = "none") -> dict[str, str]:
    return {FAULTS_HEADER: faults, RUN_HEADER: uuid.uuid4().hex}


def bench_overhead() -> None:
    request = plan_request(LONG_PLAN_TASKS)
    with Simulator(speed=0, model=PLANNING_MODEL) as sim:
        bare_sdk = anthropic.Anthropic(api_key="x", base_url=sim.base_url, max_retries=0)
        client = ResilientClient(api_key="x", base_url=sim.base_url, strategy="resume")

        def bare() -> str:
            with bare_sdk.messages.stream(**request, extra_headers=_headers()) as stream:
                return "".join(stream.text_stream)

        def raw_events() -> str:
            # The cheapest loop the SDK allows (what the client itself reads): shown so the
            # client's own per-delta cost stays visible next to the text_stream target.
            texts = []
            with bare_sdk.messages.create(
                **request, stream=True, extra_headers=_headers()
            ) as stream:
                for event in stream:
                    if event.type == "content_block_delta" and event.delta.type == "text_delta":
                        texts.append(event.delta.text)
            return "".join(texts)

        def resilient() -> str:
            result = client.generate(request, extra_headers=_headers())
            assert result.complete
            return result.text

        def watched() -> str:
            result = client.generate(
                request,
                extra_headers=_headers(),
                on_chunk=lambda chunk: None,
                on_checkpoint=lambda checkpoint: None,
                on_progress=lambda progress: None,
                on_attempt=lambda record: None,
            )
            return result.text

        expected = bare()
        runs = {"bare": bare, "raw": raw_events, "resilient": resilient, "watched": watched}
        assert all(run() == expected for run in runs.values())
        wall: dict[str, list[float]] = {name: [] for name in runs}
        cpu: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(OVERHEAD_ROUNDS):
            for name, run in runs.items():
                started, started_cpu = time.perf_counter(), time.thread_time()
                run()
                cpu[name].append(time.thread_time() - started_cpu)
                wall[name].append(time.perf_counter() - started)
        chunks: list[Any] = []
        client.generate(request, extra_headers=_headers(), on_chunk=chunks.append)
    raw_cpu, raw_wall = statistics.median(cpu["raw"]), statistics.median(wall["raw"])
    print(
        f"[1] client CPU on a fault-free MasterPlan ({len(expected):,} chars in "
        f"{len(chunks):,} chunks) at unlimited speed, {OVERHEAD_ROUNDS} interleaved rounds, "
        f"against the raw SDK event loop (`messages.create(stream=True)`, events iterated): "
        f"{raw_cpu * 1000:.0f} ms client-thread CPU, {raw_wall * 1000:.0f} ms wall"
    )

    def per_round(name: str, reference: str) -> list[float]:
        return [mine / theirs for mine, theirs in zip(cpu[name], cpu[reference], strict=True)]

    for name in ("resilient", "watched"):
        ratios = per_round(name, "raw")
        summary, interval = describe(ratios), median_interval(ratios)
        assert summary is not None
        label = "resilient client" if name == "resilient" else "+ the generator's callbacks"
        verdict = "met" if met(interval, CPU_TARGET) else "NOT met"
        bounds = f"95% {interval.low:.3f}-{interval.high:.3f}" if interval else "no 95% interval"
        per_delta_us = statistics.median(cpu[name]) / len(chunks) * 1e6
        print(
            f"    {label:28s} CPU {_spread(summary)} x the raw loop ({bounds}); "
            f"< {CPU_TARGET}x: {verdict}; {per_delta_us:.1f} us/delta; wall "
            f"{statistics.median(wall[name]) / raw_wall:.3f}x"
        )
    helper = describe(per_round("bare", "raw"))
    assert helper is not None
    print(
        f"    (for scale, the SDK's text_stream helper: CPU {_spread(helper)} x the raw loop; "
        "client-thread CPU excludes the in-process simulator and other load; wall is noisy)"
    )


def _spread(summary: Summary) -> str:
    """`1.090 (IQR 1.080-1.101, n=9)`: a median with its spread and n."""
    return f"{summary.median:.3f} (IQR {summary.q1:.3f}-{summary.q3:.3f}, n={summary.n})"


def _recovery_run(
    sim: Simulator, strategy: str, faults: str, model: str
) -> tuple[GenerationResult, float]:
    client = ResilientClient(
        api_key="x",
        base_url=sim.base_url,
        strategy=strategy,
        sleep=lambda seconds: time.sleep(seconds / RECOVERY_SPEED),
    )
    started = time.perf_counter()
    result = client.generate(plan_request(RECOVERY_TASKS, model), extra_headers=_headers(faults))
    return result, time.perf_counter() - started


RECOVERY_ROWS = (  # label, strategy, model
    ("resume", "resume", MODEL),
    ("resume*", "resume", NO_PREFILL_MODEL),
    ("restart", "restart", MODEL),
    ("hybrid", "hybrid", MODEL),
    ("none", "none", MODEL),
)


def bench_recovery() -> None:
    with Simulator(speed=RECOVERY_SPEED, model=PLANNING_MODEL) as sim:
        clean: dict[str, tuple[str, float]] = {}
        for model in (MODEL, NO_PREFILL_MODEL):
            runs = [_recovery_run(sim, "none", "none", model) for _ in range(RECOVERY_REPEATS)]
            texts = {result.text for result, _ in runs}
            assert len(texts) == 1, "fault-free runs of one request must agree"
            clean[model] = (texts.pop(), statistics.median(s for _, s in runs))
        clean_text, clean_s = clean[MODEL]
        print(
            f"[2] recovery cost of one drop in a {count_tokens(clean_text):,}-token MasterPlan at "
            f"{RECOVERY_SPEED:g}x realistic pace (fault-free {clean_s:.2f} s, median of "
            f"{RECOVERY_REPEATS}); each cell {RECOVERY_REPEATS} runs: complete k/n, then over "
            "complete runs the median (IQR) of tokens = generated / final and time = / fault-free"
        )
        print(
            f"    {'strategy':9s} {'drop at':>8s} {'complete':>9s}  {'tokens':<30s} "
            f"{'time':<30s} targets"
        )
        for label, strategy, model in RECOVERY_ROWS:
            expected_text, expected_s = clean[model]
            for fraction in (0.1, 0.5, 0.9):
                faults = json.dumps(
                    [{"type": "reset", "at_fraction": fraction, "on_requests": [1]}]
                )
                runs = [
                    _recovery_run(sim, strategy, faults, model) for _ in range(RECOVERY_REPEATS)
                ]
                # complete means the final text equals the fault-free answer, nothing less
                done = [(r, s) for r, s in runs if r.complete and r.text == expected_text]
                final = count_tokens(expected_text)
                tokens = [r.usage.output_tokens / final for r, _ in done]
                times = [s / expected_s for _, s in done]
                print(
                    f"    {label:9s} {fraction:>7.0%} {len(done):>4}/{len(runs):<4}  "
                    f"{_cell(tokens):<30s} {_cell(times):<30s} "
                    f"{_targets(label, tokens, times)}"
                )
        print(
            f"    resume* = {NO_PREFILL_MODEL}, which refuses prefill (continuation turn, "
            f"overlap removed); targets for resume: tokens < {TOKEN_TARGET}, time < "
            f"{TIME_TARGET}, met only when the 95% interval's upper bound is under them"
        )


def _cell(values: list[float]) -> str:
    summary = describe(values)
    if summary is None:
        return "-"
    return f"{summary.median:.3f} ({summary.q1:.3f}-{summary.q3:.3f}, n={summary.n})"


def _targets(label: str, tokens: list[float], times: list[float]) -> str:
    if not label.startswith("resume"):
        return ""
    verdicts = []
    for name, values, target in (("tokens", tokens, TOKEN_TARGET), ("time", times, TIME_TARGET)):
        interval = median_interval(values)
        bounds = f"[{interval.low:.3f}-{interval.high:.3f}]" if interval else "[no interval]"
        verdicts.append(f"{name} {bounds} {'met' if met(interval, target) else 'NOT met'}")
    return "; ".join(verdicts)


def bench_flaky() -> None:
    with Simulator(speed=0, faults="flaky", model=PLANNING_MODEL) as sim:
        print(
            f"[3] success under `flaky`: {FLAKY_GENERATIONS} generations of an "
            f"{FLAKY_TASKS}-task MasterPlan per strategy, half on a model without prefill"
        )
        for strategy in STRATEGIES:
            client = ResilientClient(
                api_key="x", base_url=sim.base_url, strategy=strategy, sleep=lambda seconds: None
            )
            complete = attempts = 0
            tiers: dict[str, int] = {}
            for index in range(FLAKY_GENERATIONS):
                model = FLAKY_MODELS[index % len(FLAKY_MODELS)]
                headers = {RUN_HEADER: uuid.uuid4().hex, SEED_HEADER: str(index)}
                result = client.generate(plan_request(FLAKY_TASKS, model), extra_headers=headers)
                complete += result.complete
                attempts += len(result.attempts)
                tiers[result.tier] = tiers.get(result.tier, 0) + 1
            rate = complete / FLAKY_GENERATIONS
            tier_text = ", ".join(f"{tier} {count}" for tier, count in sorted(tiers.items()))
            print(
                f"    {strategy:8s} {rate:7.1%} complete   {attempts / FLAKY_GENERATIONS:.2f} "
                f"attempts/generation   tiers: {tier_text}"
            )
        print("    target for resume: 100%")


PARTS = {"overhead": bench_overhead, "recovery": bench_recovery, "flaky": bench_flaky}


def main() -> None:
    selected = os.environ.get("PLANNER_BENCH_LLM_PARTS", ",".join(PARTS)).split(",")
    for name in selected:
        PARTS[name.strip()]()


if __name__ == "__main__":
    main()
