"""A reply as the ordered pieces of its SSE stream, each due at a simulated moment.

The order is the API's: `message_start`, then (when the model thinks) a thinking block at
index 0 with its `thinking_delta`s (none when the display is `omitted`), a
`signature_delta` and its `content_block_stop`; then the text block (index 1 after
thinking, else 0) with its `text_delta`s; then `content_block_stop`, `message_delta`
(stop reason, usage with `output_tokens_details.thinking_tokens`) and `message_stop`.
When `max_tokens` ran out during thinking there is no text block at all.

Only text counts as characters for the faults (`at_fraction` is a fraction of the
answer's text); thinking and text both count as output tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

from planner.sim import wire
from planner.sim.reply import Reply


@dataclass(frozen=True)
class Piece:
    """Bytes due at `due_s`: `chars` of text and `tokens` of output; `block` is then open."""

    due_s: float
    data: bytes
    chars: int
    tokens: int
    block: int | None
    is_delta: bool = True


def opening(reply: Reply) -> tuple[bytes, int | None]:
    """What is sent at once (message start, first block start, a ping) and the open block."""
    data = wire.message_start(
        wire.message(reply.message_id, reply.model, [], None, usage_of(reply, 1, 0))
    )
    kind = "thinking" if reply.thinking is not None else "text"
    return data + wire.content_block_start(0, kind) + wire.ping(), 0


def text_index(reply: Reply) -> int | None:
    """The index of the text block, None when there is none (max_tokens hit while thinking)."""
    if reply.thinking is None:
        return 0
    return 1 if reply.deltas else None


def pieces(reply: Reply) -> list[Piece]:
    """Every piece after the opening, in order (the closing events are not pieces)."""
    out: list[Piece] = []
    thinking = reply.thinking
    index = text_index(reply)
    if thinking is not None:
        for delta, tokens, due_s in zip(
            thinking.deltas or [""] * len(thinking.delta_tokens),
            thinking.delta_tokens,
            thinking.due_s,
            strict=True,
        ):
            data = wire.thinking_delta(delta) if delta else b""
            out.append(Piece(due_s, data, 0, tokens, 0, bool(delta)))
        data = wire.signature_delta(thinking.signature) + wire.content_block_stop(0)
        if index is not None:
            data += wire.content_block_start(index)
        out.append(Piece(thinking.done_s, data, 0, 0, index, is_delta=False))
    assert index is not None or not reply.deltas
    for delta, tokens, due_s in zip(reply.deltas, reply.delta_tokens, reply.due_s, strict=True):
        out.append(Piece(due_s, wire.text_delta(delta, index or 0), len(delta), tokens, index))
    return out


def usage_of(reply: Reply, output_tokens: int, thinking_tokens: int) -> dict[str, object]:
    usage = reply.input_usage
    return wire.usage(
        usage.input_tokens,
        output_tokens,
        usage.cache_creation_input_tokens,
        usage.cache_read_input_tokens,
        thinking_tokens,
        usage.cache_creation_1h_input_tokens,
    )


def closing(
    reply: Reply,
    block: int | None,
    output_tokens: int,
    thinking_tokens: int,
    stop_reason: str,
    stop_details: dict[str, object] | None = None,
    stop_sequence: str | None = None,
) -> bytes:
    """The end of a stream: the open block's stop, `message_delta` and `message_stop`."""
    data = wire.content_block_stop(block) if block is not None else b""
    usage = usage_of(reply, output_tokens, thinking_tokens)
    data += wire.message_delta(stop_reason, usage, stop_sequence, stop_details)
    return data + wire.message_stop()


__all__ = ["Piece", "closing", "opening", "pieces", "text_index", "usage_of"]
