"""One response, decided before a byte is sent: thinking, text, deltas, schedule, usage.

Building the reply is pure (request, seed, fired faults, cache state in; a `Reply`
out), so everything about a response can be tested and reproduced without a socket.
The fired faults shape it through their hooks (text, pace, first-token delay), asked
in the spec's order.

Output is capped by `max_tokens`, thinking included: thinking comes first, so a cap it
uses up leaves no text (stop reason `max_tokens`). A prompt that leaves less room in the
context window than `max_tokens` asks for stops where the window is full, with stop
reason `model_context_window_exceeded`, as current models do instead of refusing.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from typing import Any

from planner.protocol import RunKey
from planner.sim.cache import InputUsage
from planner.sim.conversation import DEFAULT_STYLE, Responder
from planner.sim.thinking import signature, thinking_tokens
from planner.sim.timing import Pace, delta_sizes, schedule
from planner.sim.toxic import Fault
from planner.sim.validation import CheckedRequest, RequestProblem, check_request, content_text
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
class Thinking:
    """The thinking block before the text: its deltas (none when omitted) and signature."""

    deltas: list[str]
    delta_tokens: list[int]
    due_s: list[float]
    done_s: float  # when the signature is sent and the block ends
    signature: str
    omitted: bool

    @property
    def text(self) -> str:
        return "".join(self.deltas)

    @property
    def tokens(self) -> int:
        return sum(self.delta_tokens)


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
    from_char: int = 0  # where in the model's full answer `text` starts (after a preamble)
    preamble_chars: int = 0  # text before it that is not the answer's
    trailer_chars: int = 0  # text after the answer's that is not the answer's
    thinking: Thinking | None = None
    stop_details: dict[str, Any] | None = field(default=None)

    @property
    def text(self) -> str:
        return "".join(self.deltas)

    @property
    def thinking_tokens(self) -> int:
        return self.thinking.tokens if self.thinking else 0

    @property
    def output_tokens(self) -> int:
        return sum(self.delta_tokens) + self.thinking_tokens


def _checked(body: dict[str, Any]) -> CheckedRequest:
    checked = check_request(body)
    if isinstance(checked, RequestProblem):
        raise ValueError(f"build_reply needs a valid request: {checked.message}")
    return checked


def build_reply(
    responder: Responder,
    body: dict[str, Any],
    seed: int,
    run_key: RunKey,
    request_number: int,
    faults: tuple[Fault, ...],
    input_usage: InputUsage,
    checked: CheckedRequest | None = None,
) -> Reply:
    checked = checked or _checked(body)
    profile = checked.profile
    style = next(
        (chosen for fault in faults if (chosen := fault.continuation_style())), DEFAULT_STYLE
    )
    answer = responder.answer(body, seed, style)
    text = answer.text
    for fault in faults:
        text = fault.shape_text(text)
    stop_reason, stop_sequence = "end_turn", None
    stops = [(text.find(s), s) for s in body.get("stop_sequences") or [] if s and s in text]
    if stops:
        # the answer ends before the first stop sequence, which is not sent
        at, stop_sequence = min(stops)
        text, stop_reason = text[:at], "stop_sequence"
    identity = "\x00".join(
        map(
            str,
            (seed, run_key.scope, request_number, body["model"], answer.continued_from_char),
        )
    )
    rng = random.Random(hashlib.sha256((identity + text).encode()).digest())
    room = min(body["max_tokens"], profile.context_window - checked.prompt_tokens)
    cap_reason = "max_tokens" if room == body["max_tokens"] else "model_context_window_exceeded"
    # thinking depends on the conversation, not the request number: a retry thinks alike
    prompt = content_text(body["messages"][-1]["content"])
    thinking_rng = random.Random(f"{identity_of_turn(body, seed)}\x00{answer.continued_from_char}")
    thought = thinking_tokens(
        prompt, min(checked.thinking.tokens(thinking_rng), room), thinking_rng
    )
    tokens = split_tokens(text)
    if len(thought) >= room:
        tokens, stop_reason, stop_sequence = [], cap_reason, None
    elif len(tokens) > room - len(thought):
        tokens = tokens[: room - len(thought)]
        stop_reason, stop_sequence = cap_reason, None
    thinking_sizes = delta_sizes(len(thought), rng)
    sizes = delta_sizes(len(tokens), rng)
    deltas = _joined(tokens, sizes)
    tokens_per_s = profile.tokens_per_s
    for fault in faults:
        tokens_per_s = fault.pace(tokens_per_s)
    delay_s = sum(fault.first_token_delay_s(rng) for fault in faults)
    ttft_s = profile.ttft_s + prefill_seconds(input_usage)
    every = thinking_sizes + sizes
    due_all = [at + delay_s for at in schedule(every, Pace(ttft_s, tokens_per_s), rng)]
    finish = (due_all[-1] + every[-1] / tokens_per_s) if due_all else ttft_s + delay_s
    thinking = None
    if checked.thinking.enabled:
        split = len(thinking_sizes)
        done_s = due_all[split] if split < len(due_all) else finish
        thinking_deltas = _joined(thought, thinking_sizes)
        omitted = checked.thinking.omitted
        thinking = Thinking(
            deltas=[] if omitted else thinking_deltas,
            delta_tokens=[sum(thinking_sizes)] if omitted and thinking_sizes else thinking_sizes,
            due_s=[done_s] if omitted and thinking_sizes else due_all[:split],
            done_s=done_s,
            signature=signature("".join(thinking_deltas), identity_of_turn(body, seed)),
            omitted=omitted,
        )
    return Reply(
        message_id="msg_sim" + hashlib.sha256(identity.encode()).hexdigest()[:21],
        model=body["model"],
        kind=answer.kind,
        deltas=deltas,
        delta_tokens=sizes,
        due_s=due_all[len(thinking_sizes) :],
        finish_s=finish,
        stop_reason=stop_reason,
        stop_sequence=stop_sequence,
        input_usage=input_usage,
        faults=faults,
        from_char=answer.continued_from_char,
        preamble_chars=answer.preamble_chars,
        trailer_chars=answer.trailer_chars,
        thinking=thinking,
    )


def identity_of_turn(body: dict[str, Any], seed: int) -> str:
    """What decides a turn's thinking: the seed, the model and the conversation's texts."""
    texts = [content_text(message["content"]) for message in body["messages"]]
    digest = hashlib.sha256("\x00".join([str(seed), body["model"], *texts]).encode())
    return digest.hexdigest()


def _joined(tokens: list[str], sizes: list[int]) -> list[str]:
    pieces, start = [], 0
    for size in sizes:
        pieces.append("".join(tokens[start : start + size]))
        start += size
    return pieces
