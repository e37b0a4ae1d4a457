"""Sending a `Reply` over HTTP: as an SSE stream or as one JSON message, faults applied.

All timing follows the reply's simulated schedule (shifted by stalls), so faults that
depend on time (`cutoff`, `reset.after_s`) happen at the same simulated moment at any
speed. Writes are batched: events that are already due go out in one write, which is
what keeps the simulator fast at unlimited speed.
"""

from __future__ import annotations

import json

from aiohttp import web

from planner.sim import wire
from planner.sim.faults import Cutoff, Eof, Fault, Progress, Reset, SseError, Stall
from planner.sim.reply import Reply
from planner.sim.state import SimState
from planner.sim.timing import Deadline, SimClock

PING_EVERY_S = 10.0
FLUSH_BYTES = 32_768
_SLEEP_THRESHOLD_S = 0.0005


def _usage(reply: Reply, output_tokens: int) -> dict[str, object]:
    usage = reply.input_usage
    return wire.usage(
        usage.input_tokens,
        output_tokens,
        usage.cache_creation_input_tokens,
        usage.cache_read_input_tokens,
    )


def close_connection(request: web.Request) -> None:
    """Drop the connection after what was written: the body stays incomplete."""
    if request.transport is not None:
        request.transport.close()


class _StreamWriter:
    def __init__(
        self, request: web.Request, response: web.StreamResponse, deadline: Deadline
    ) -> None:
        self.request = request
        self.response = response
        self.deadline = deadline
        self.buffer = bytearray()
        self.bytes_sent = 0
        self.deltas = 0
        self.tokens = 0

    def add(self, data: bytes) -> None:
        self.buffer += data

    async def flush(self) -> None:
        if self.buffer:
            data = bytes(self.buffer)
            self.buffer.clear()
            self.bytes_sent += len(data)
            await self.response.write(data)

    async def at(self, due_s: float) -> None:
        """Flush and wait when `due_s` is still ahead; else keep batching."""
        if self.deadline.remaining(due_s) > _SLEEP_THRESHOLD_S:
            await self.flush()
            await self.deadline.until(due_s)
        elif len(self.buffer) >= FLUSH_BYTES:
            await self.flush()


async def stream(
    request: web.Request, reply: Reply, state: SimState, clock: SimClock
) -> web.StreamResponse:
    deadline = Deadline(clock)
    response = web.StreamResponse(status=200, headers=wire.SSE_HEADERS)
    await response.prepare(request)
    out = _StreamWriter(request, response, deadline)
    state.active_streams += 1
    try:
        await _send_events(request, reply, state, out)
    except ConnectionError:
        state.count("client_disconnects")
    finally:
        state.active_streams -= 1
        state.count("deltas", out.deltas)
        state.count("output_tokens", out.tokens)
    return response


async def _send_events(
    request: web.Request, reply: Reply, state: SimState, out: _StreamWriter
) -> None:
    out.add(
        wire.message_start(
            wire.message(reply.message_id, reply.model, None, None, _usage(reply, 1))
        )
    )
    out.add(wire.content_block_start())
    out.add(wire.ping())
    await out.flush()
    stoppers = [f for f in reply.faults if isinstance(f, Reset | SseError | Eof)]
    stalls = reply.faults_of(Stall)
    cutoff = reply.fault(Cutoff)
    total_chars = sum(map(len, reply.deltas))
    shift_s = 0.0
    chars = 0
    next_ping_s = PING_EVERY_S
    for index in range(len(reply.deltas) + 1):
        due_s = (reply.due_s[index] if index < len(reply.deltas) else reply.finish_s) + shift_s
        progress = Progress(chars, total_chars, out.bytes_sent + len(out.buffer), due_s)
        for stall in [s for s in stalls if s.trips(progress)]:
            stalls.remove(stall)
            shift_s += stall.stall_ms / 1000
            due_s += stall.stall_ms / 1000
        if cutoff is not None and due_s >= cutoff.after_s:
            await out.at(cutoff.after_s)
            await out.flush()
            close_connection(request)
            return
        stopper = next((f for f in stoppers if f.trips(progress)), None)
        if stopper is not None:
            # the failure happens when the next event was due (or at reset.after_s)
            stop_at_s = due_s
            if isinstance(stopper, Reset) and stopper.after_s is not None:
                stop_at_s = min(stopper.after_s, due_s)
            await out.at(stop_at_s)
            await _stop(request, out, stopper)
            return
        await out.at(due_s)
        if index == len(reply.deltas):
            break
        if due_s >= next_ping_s:
            out.add(wire.ping())
            next_ping_s = due_s + PING_EVERY_S
        out.add(wire.text_delta(reply.deltas[index]))
        chars += len(reply.deltas[index])
        out.deltas += 1
        out.tokens += reply.delta_tokens[index]
    out.add(wire.content_block_stop())
    out.add(wire.message_delta(reply.stop_reason, _usage(reply, out.tokens), reply.stop_sequence))
    out.add(wire.message_stop())
    await out.flush()
    await out.response.write_eof()


async def _stop(request: web.Request, out: _StreamWriter, stopper: Reset | SseError | Eof) -> None:
    if isinstance(stopper, SseError):
        out.add(wire.error_event(stopper.error_type))
    await out.flush()
    if isinstance(stopper, Reset):
        close_connection(request)
    else:
        await out.response.write_eof()


def _message_json(reply: Reply) -> bytes:
    message = wire.message(
        reply.message_id,
        reply.model,
        reply.text,
        reply.stop_reason,
        _usage(reply, reply.output_tokens),
        reply.stop_sequence,
    )
    return json.dumps(message, ensure_ascii=False).encode()


def _nonstream_failure(reply: Reply, finish_s: float) -> tuple[float, Fault] | None:
    """The first fault that ends a non-streaming request early, and when (simulated s).

    `eof` and `stall` have no early end here: a stall only delays the message.
    """
    failures: list[tuple[float, Fault]] = []
    for fault in reply.faults:
        if isinstance(fault, Cutoff) and fault.after_s < finish_s:
            failures.append((fault.after_s, fault))
        elif isinstance(fault, Reset):
            if fault.after_s is not None:
                failures.append((min(fault.after_s, finish_s), fault))
            elif fault.after_bytes is not None:
                failures.append((finish_s, fault))
            else:
                failures.append((fault.fraction * finish_s, fault))
        elif isinstance(fault, SseError):
            failures.append((fault.at_fraction * finish_s, fault))
    return min(failures, key=lambda item: item[0]) if failures else None


async def whole_message(
    request: web.Request, reply: Reply, state: SimState, clock: SimClock, request_id: str
) -> web.StreamResponse:
    """Non-streaming: the whole message after the full generation time, faults applied.

    A reset closes the connection without a response (`after_bytes`: after that many
    bytes of the body); an SSE error becomes the HTTP error a non-streaming request
    gets (529 overloaded, 500 api_error).
    """
    deadline = Deadline(clock)
    finish_s = reply.finish_s + sum(s.stall_ms / 1000 for s in reply.faults_of(Stall))
    body = _message_json(reply)
    failure = _nonstream_failure(reply, finish_s)
    if failure is not None:
        at_s, fault = failure
        await deadline.until(at_s)
        if isinstance(fault, SseError):
            status = 529 if fault.error_type == "overloaded_error" else 500
            return error_response(status, None, request_id)
        if isinstance(fault, Reset) and fault.after_bytes is not None:
            response = web.StreamResponse(headers={"content-type": "application/json"})
            response.content_length = len(body)
            await response.prepare(request)
            await response.write(body[: fault.after_bytes])
        close_connection(request)
        return web.Response(status=500)  # never sent: the connection is gone
    await deadline.until(finish_s)
    state.count("output_tokens", reply.output_tokens)
    state.count("deltas", len(reply.deltas))
    return web.Response(body=body, content_type="application/json")


def error_response(
    status: int,
    message: str | None,
    request_id: str,
    headers: dict[str, str] | None = None,
) -> web.Response:
    return web.Response(
        status=status,
        body=wire.error_body(status, message, request_id),
        content_type="application/json",
        headers=headers,
    )
