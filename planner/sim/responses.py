"""Sending a `Reply` over HTTP: as an SSE stream or as one JSON message, faults applied.

All timing follows the reply's simulated schedule (shifted by holds), so faults that
depend on time (`cutoff`, `reset.after_s`) happen at the same simulated moment at any
speed. Before each event the stream loop asks every fired fault whether it holds the
stream or ends it (`planner.sim.toxic`); it never asks what kind of fault it is. Writes
are batched: events that are already due go out in one write, which is what keeps the
simulator fast at unlimited speed.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol

from aiohttp import web

from planner.protocol import ANSWER_FROM_HEADER, ANSWER_PREAMBLE_HEADER, ANSWER_TRAILER_HEADER
from planner.sim import wire
from planner.sim.pieces import closing, opening, pieces, usage_of
from planner.sim.reply import Reply
from planner.sim.state import SimState
from planner.sim.timing import Deadline, SimClock
from planner.sim.toxic import Fault, Progress, Rejection
from planner.tokens import count_tokens

PING_EVERY_S = 10.0
FLUSH_BYTES = 32_768
SLEEP_THRESHOLD_S = 0.0005  # real seconds: events due sooner than this go out now


class Body(Protocol):
    """The part of a response a stream writes to (aiohttp's StreamResponse)."""

    def write(self, data: bytes) -> Awaitable[None]: ...

    def write_eof(self, data: bytes = b"") -> Awaitable[None]: ...


def answer_headers(reply: Reply) -> dict[str, str]:
    """Where the reply sits in the full answer (for a reference client only)."""
    return {
        ANSWER_FROM_HEADER: str(reply.from_char),
        ANSWER_PREAMBLE_HEADER: str(reply.preamble_chars),
        ANSWER_TRAILER_HEADER: str(reply.trailer_chars),
    }


def close_connection(request: web.Request) -> None:
    """Drop the connection after what was written: the body stays incomplete."""
    if request.transport is not None:
        request.transport.close()


class StreamWriter:
    """One stream's output: batched writes on its deadline, and a fault's `StreamOutput`."""

    def __init__(self, body: Body, drop: Callable[[], None], deadline: Deadline) -> None:
        self.body = body
        self.drop = drop
        self.deadline = deadline
        self.buffer = bytearray()
        self.bytes_sent = 0
        self.deltas = 0
        self.tokens = 0
        self.thinking_tokens = 0
        self.block: int | None = None
        self.reply: Reply | None = None
        self.on_begun: Callable[[], None] | None = None  # the first token is out

    def begun(self) -> None:
        if self.on_begun is not None:
            self.on_begun()
            self.on_begun = None

    def add(self, data: bytes) -> None:
        self.buffer += data

    async def flush(self) -> None:
        if self.buffer:
            data = bytes(self.buffer)
            self.buffer.clear()
            self.bytes_sent += len(data)
            await self.body.write(data)

    async def at(self, due_s: float) -> None:
        """Flush and wait when `due_s` is still ahead; else keep batching."""
        if self.deadline.remaining(due_s) > SLEEP_THRESHOLD_S:
            await self.flush()
            await self.deadline.until(due_s)
        elif len(self.buffer) >= FLUSH_BYTES:
            await self.flush()

    async def send(self, data: bytes) -> None:
        self.add(data)
        await self.flush()

    async def end(self) -> None:
        await self.flush()
        await self.body.write_eof()

    async def cut(self) -> None:
        await self.flush()
        self.drop()

    async def stop(self, stop_reason: str, stop_details: dict[str, object] | None) -> None:
        """End the message here, cleanly, with this stop reason (a refusal)."""
        assert self.reply is not None, "stop() is only asked during send_events"
        self.add(
            closing(
                self.reply, self.block, self.tokens, self.thinking_tokens, stop_reason, stop_details
            )
        )
        await self.end()


async def stream(
    request: web.Request, reply: Reply, state: SimState, clock: SimClock
) -> web.StreamResponse:
    deadline = Deadline(clock)
    response = web.StreamResponse(status=200, headers={**wire.SSE_HEADERS, **answer_headers(reply)})
    await response.prepare(request)
    out = StreamWriter(response, lambda: close_connection(request), deadline)
    out.on_begun = lambda: state.cache.begun(reply.input_usage)
    state.active_streams += 1
    try:
        await send_events(reply, out)
    except ConnectionError:
        state.count("client_disconnects")
    finally:
        state.active_streams -= 1
        state.count("deltas", out.deltas)
        state.count("output_tokens", out.tokens)
    return response


def _earliest_ending(
    faults: Iterable[Fault], progress: Progress, due_s: float
) -> tuple[float, Fault] | None:
    """The fault that ends the stream first before the next event (ties: spec order)."""
    earliest: tuple[float, Fault] | None = None
    for fault in faults:
        at_s = fault.stream_ending(progress, due_s)
        if at_s is not None and (earliest is None or at_s < earliest[0]):
            earliest = (at_s, fault)
    return earliest


async def send_events(reply: Reply, out: StreamWriter) -> None:
    """The whole SSE stream of a reply, on its schedule, ended early by a fault if one does."""
    out.reply = reply
    head, out.block = opening(reply)
    out.add(head)
    await out.flush()
    faults = reply.faults
    not_held = list(faults)  # each fault holds a stream at most once
    total_chars = sum(map(len, reply.deltas))
    shift_s = 0.0
    chars = 0
    next_ping_s = PING_EVERY_S
    stream_pieces = pieces(reply)
    thinking_left = reply.thinking_tokens
    for index in range(len(stream_pieces) + 1):
        last = index == len(stream_pieces)
        due_s = (reply.finish_s if last else stream_pieces[index].due_s) + shift_s
        if faults:
            progress = Progress(chars, total_chars, out.bytes_sent + len(out.buffer), due_s)
            for fault in list(not_held):
                hold_s = fault.stream_hold_s(progress)
                if hold_s > 0:
                    not_held.remove(fault)
                    shift_s += hold_s
                    due_s += hold_s
            ending = _earliest_ending(faults, progress, due_s)
            if ending is not None:
                at_s, fault = ending
                await out.at(at_s)
                await fault.end_stream(out)
                return
        await out.at(due_s)
        if last:
            break
        if index == 0:
            out.begun()
        piece = stream_pieces[index]
        if due_s >= next_ping_s:
            out.add(wire.ping())
            next_ping_s = due_s + PING_EVERY_S
        out.add(piece.data)
        out.block = piece.block
        chars += piece.chars
        out.deltas += piece.is_delta
        out.tokens += piece.tokens
        if thinking_left:
            spent = min(thinking_left, piece.tokens)
            out.thinking_tokens += spent
            thinking_left -= spent
    out.add(
        closing(
            reply,
            out.block,
            out.tokens,
            out.thinking_tokens,
            reply.stop_reason,
            reply.stop_details,
            reply.stop_sequence,
        )
    )
    out.begun()
    await out.end()


def message_content(reply: Reply, text: str | None = None) -> list[dict[str, object]]:
    """The content blocks of a whole message: thinking (if any), then the text."""
    content = []
    if reply.thinking is not None:
        thinking = reply.thinking
        content.append(wire.thinking_block(thinking.text, thinking.signature))
    text = reply.text if text is None else text
    if text or reply.thinking is None:
        content.append(wire.text_block(text))
    return content


def _message_json(
    reply: Reply,
    text: str | None = None,
    stop_reason: str | None = None,
    stop_details: dict[str, object] | None = None,
) -> bytes:
    """The whole message; a fault's stop gives the text so far and its own stop reason."""
    output_tokens = reply.output_tokens
    if text is not None:
        output_tokens = reply.thinking_tokens + count_tokens(text)
    message = wire.message(
        reply.message_id,
        reply.model,
        message_content(reply, text),
        stop_reason or reply.stop_reason,
        usage_of(reply, output_tokens, reply.thinking_tokens),
        None if stop_reason else reply.stop_sequence,
        stop_details if stop_reason else reply.stop_details,
    )
    return json.dumps(message, ensure_ascii=False).encode()


class MessageWriter:
    """A fault's `MessageOutput` for one non-streaming request: what is sent instead."""

    def __init__(self, request: web.Request, reply: Reply, request_id: str) -> None:
        self.request = request
        self.reply = reply
        self.body = _message_json(reply)
        self.request_id = request_id
        self.response: web.StreamResponse = web.Response(status=500)  # never sent if cut

    def reject(self, status: int) -> None:
        self.response = error_response(status, None, self.request_id)

    def stop(
        self, stop_reason: str, stop_details: dict[str, object] | None, at_fraction: float
    ) -> None:
        text = self.reply.text[: int(len(self.reply.text) * at_fraction)]
        self.response = web.Response(
            body=_message_json(self.reply, text, stop_reason, stop_details),
            content_type="application/json",
            headers=answer_headers(self.reply),
        )

    async def cut(self, after_bytes: int | None = None) -> None:
        if after_bytes is not None:
            response = web.StreamResponse(headers={"content-type": "application/json"})
            response.content_length = len(self.body)
            await response.prepare(self.request)
            await response.write(self.body[:after_bytes])
        close_connection(self.request)


async def whole_message(
    request: web.Request, reply: Reply, state: SimState, clock: SimClock, request_id: str
) -> web.StreamResponse:
    """Non-streaming: the whole message after the full generation time, faults applied.

    The first fault to end the message early (ties: spec order) decides what is sent
    instead, at that simulated moment.
    """
    deadline = Deadline(clock)
    faults = reply.faults
    finish_s = reply.finish_s + sum(fault.message_hold_s() for fault in faults)
    body = _message_json(reply)
    endings = [
        (at_s, index)
        for index, fault in enumerate(faults)
        if (at_s := fault.message_ending(finish_s)) is not None
    ]
    first_token_s = reply.due_s[0] if reply.due_s else reply.finish_s
    if reply.thinking is not None and reply.thinking.due_s:
        first_token_s = reply.thinking.due_s[0]
    if endings:
        at_s, index = min(endings)
        if at_s >= first_token_s:
            await deadline.until(first_token_s)
            state.cache.begun(reply.input_usage)
        await deadline.until(at_s)
        out = MessageWriter(request, reply, request_id)
        await faults[index].end_message(out)
        return out.response
    await deadline.until(first_token_s)
    state.cache.begun(reply.input_usage)
    await deadline.until(finish_s)
    state.count("output_tokens", reply.output_tokens)
    state.count("deltas", len(reply.deltas))
    return web.Response(
        body=body,
        content_type="application/json",
        headers=answer_headers(reply),
    )


def error_response(
    status: int,
    message: str | None,
    request_id: str,
    headers: dict[str, str] | None = None,
    error_code: str | None = None,
) -> web.Response:
    return web.Response(
        status=status,
        body=wire.error_body(status, message, request_id, error_code),
        content_type="application/json",
        headers=headers,
    )


def rejection_response(rejection: Rejection, request_id: str) -> web.Response:
    """A fault's HTTP error: the API's JSON error body, or a proxy's HTML page."""
    if rejection.html:
        return web.Response(
            status=rejection.status,
            body=wire.proxy_html(rejection.status),
            content_type="text/html",
            headers=rejection.headers,
        )
    return error_response(
        rejection.status, rejection.message, request_id, rejection.headers, rejection.error_code
    )
