"""One response, decided before a byte is sent: text, deltas, schedule, usage, faults.

Building the reply is pure (request, seed, fired faults, cache state in; a `Reply`
out), so everything about a response can be tested and reproduced without a socket.
The fired faults shape it through their hooks (text, pace, first-token delay), asked
in the spec's order.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from typing import Any

from planner.protocol import RunKey
from planner.sim.cache import InputUsage
from planner.sim.conversation import Responder
from planner.sim.models import model_profile
from planner.sim.timing import Pace, delta_sizes, schedule
from planner.sim.toxic import Fault
from planner.tokens import split_tokens

PREFILL_TOKENS_PER_S = 8_000.0  # reading uncached input before the first token
CACHED_PREFILL_TOKENS_PER_S = 80_000.0


def prefill_seconds(usage: InputUsage) -> float:
    """Long prompts delay the first token; cached prefixes much less so."""
    uncached = usage.input_tokens + usage.cache_creation_input_tokens
    return (
        uncached / PREFILL_TOKENS_PER_S
        + usage.cache_read_input_tokens / CACHED_PREFILL_TOKENS_PER_S
    )


@dataclass(frozen=True)
class Reply:
    message_id: str
    model: str
    kind: str
    deltas: list[str]
    delta_tokens: list[int]
    due_s: list[float]  # simulated seconds after arrival at which each delta is sent
    finish_s: float  # when the last token is done
    stop_reason: str
    stop_sequence: str | None
    input_usage: InputUsage
    faults: tuple[Fault, ...]
    from_char: int = 0  # where in the model's full answer `text` starts

    @property
    def text(self) -> str:
        return "".join(self.deltas)

    @property
    def output_tokens(self) -> int:
        return sum(self.delta_tokens)


def build_reply(
    responder: Responder,
    body: dict[str, Any],
    seed: int,
    run_key: RunKey,
    request_number: int,
    faults: tuple[Fault, ...],
    input_usage: InputUsage,
) -> Reply:
    profile = model_profile(body["model"])
    assert profile is not None, "validated requests name a known model"
    answer = responder.answer(body, seed)
    text = answer.text
    for fault in faults:
        text = fault.shape_text(text)
    stop_reason, stop_sequence = "end_turn", None
    stops = [(text.find(s), s) for s in body.get("stop_sequences") or [] if s and s in text]
    if stops:
        # the answer ends before the first stop sequence, which is not sent
        at, stop_sequence = min(stops)
        text, stop_reason = text[:at], "stop_sequence"
    tokens = split_tokens(text)
    if len(tokens) > body["max_tokens"]:
        tokens = tokens[: body["max_tokens"]]
        stop_reason, stop_sequence = "max_tokens", None
    identity = "\x00".join(
        map(
            str,
            (seed, run_key.scope, request_number, body["model"], answer.continued_from_char),
        )
    )
    rng = random.Random(hashlib.sha256((identity + text).encode()).digest())
    sizes = delta_sizes(len(tokens), rng)
    deltas, start = [], 0
    for size in sizes:
        deltas.append("".join(tokens[start : start + size]))
        start += size
    tokens_per_s = profile.tokens_per_s
    for fault in faults:
        tokens_per_s = fault.pace(tokens_per_s)
    delay_s = sum(fault.first_token_delay_s(rng) for fault in faults)
    ttft_s = profile.ttft_s + prefill_seconds(input_usage)
    due = [at + delay_s for at in schedule(sizes, Pace(ttft_s, tokens_per_s), rng)]
    finish = (due[-1] + sizes[-1] / tokens_per_s) if due else ttft_s + delay_s
    return Reply(
        message_id="msg_sim" + hashlib.sha256(identity.encode()).hexdigest()[:21],
        model=body["model"],
        kind=answer.kind,
        deltas=deltas,
        delta_tokens=sizes,
        due_s=due,
        finish_s=finish,
        stop_reason=stop_reason,
        stop_sequence=stop_sequence,
        input_usage=input_usage,
        faults=faults,
        from_char=answer.continued_from_char,
    )
