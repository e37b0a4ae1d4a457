"""The seam-behaviour matrix: how each way a real model writes a continuation turn fares.

A MasterPlan stream on a model without prefill (claude-sonnet-5-5) is cut once at a
seeded random point; the continuation turn is written in one of the simulator's styles
(`planner.sim.conversation.STYLES`: overlap 10-60 characters, none, 1-3 characters, a
preamble, a reopened code fence, the last line reworded). A run succeeds only when the
stitched text equals the fault-free answer of the same seed, exactly. Printed per style:
successes / n with the Wilson 95% interval, and how the client got there (tiers).
"""

from __future__ import annotations

import json
import os
import random
import uuid
from collections import Counter

from benchmarks.bench_llm import plan_request
from planner.contenders.stats import wilson_interval
from planner.llm import ResilientClient
from planner.plan.model import PLANNING_MODEL
from planner.protocol import FAULTS_HEADER, RUN_HEADER, SEED_HEADER
from planner.sim import Simulator
from planner.sim.conversation import STYLES

MODEL = "claude-sonnet-5-5"
TASKS = 12
RUNS = int(os.environ.get("PLANNER_BENCH_SEAM_RUNS", "20"))


def _headers(seed: int, faults: list[dict] | None = None) -> dict[str, str]:
    headers = {RUN_HEADER: uuid.uuid4().hex, SEED_HEADER: str(seed)}
    if faults:
        headers[FAULTS_HEADER] = json.dumps(faults)
    return headers


def main() -> None:
    cuts = random.Random(20261201)
    print(
        f"[1] seam behaviour x success: one drop per MasterPlan ({TASKS} tasks) at a random "
        f"point (10-95%), {RUNS} runs per style, {MODEL} (no prefill), strategy resume"
    )
    with Simulator(speed=0, model=PLANNING_MODEL) as sim:
        client = ResilientClient(
            api_key="x", base_url=sim.base_url, strategy="resume", sleep=lambda seconds: None
        )
        request = plan_request(TASKS, MODEL)
        for style in STYLES:
            wins = 0
            tiers: Counter[str] = Counter()
            for run in range(RUNS):
                seed = run
                fault_free = client.generate(request, extra_headers=_headers(seed))
                faults = [
                    {
                        "type": "reset",
                        "at_fraction": round(cuts.uniform(0.1, 0.95), 4),
                        "on_requests": [1],
                    },
                    {"type": "continuation", "style": style},
                ]
                result = client.generate(request, extra_headers=_headers(seed, faults))
                wins += result.complete and result.text == fault_free.text
                tiers[result.tier if result.complete else "failed"] += 1
            interval = wilson_interval(wins, RUNS)
            shown = ", ".join(f"{tier} {count}" for tier, count in sorted(tiers.items()))
            bounds = f"{interval.low:.0%}-{interval.high:.0%}"
            print(f"    {style:9s} {wins:3d}/{RUNS} exact  (95% {bounds})   {shown}")
    print("    target: every style exact, or recovered another way (never a corrupted seam)")
