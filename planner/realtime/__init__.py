"""Socket.IO progress endpoint: authenticated, owner-only rooms, gap-free catch-up.

Protocol (see DESIGN.md, "Socket.IO contract"): connect with `auth={"token": JWT}` or an
`Authorization: Bearer JWT` header. Client events, each acknowledged:

- `start_generation {description, strategy?, faults?, speed?}` → `{generation_id}`;
  the caller is put in the generation's room at once.
- `join_generation {generation_id}` → `{generation_id, status}`.
- `leave_generation {generation_id}` → `{generation_id, left: true}`.
- `request_catch_up {generation_id, after_seq, limit?}` → `{generation_id, events,
  last_seq, has_more, status}`: the stored events with seq > after_seq, in order, at most
  `limit` (default 1000); ask again from `last_seq` while `has_more`.

A refused request gets an `error` event `{event, code, message}` and `{"error": {...}}`
as its acknowledgement (sent before the server disconnects a refused token). Server
events carry `generation_id` and a gap-free `seq`. Fair sharing (`limits`): a connection
over its event bucket gets `rate_limited` in every acknowledgement but one `error` event
per run, and is disconnected after 200 in a row (a user's connections together have
twice one connection's budget, and a user opening connections too fast is refused at
connect with `too_many_connections`); a user over their cap of queued and
running generations gets `too_many_generations`; an ended session gets `token_revoked`;
an event or a connection that arrives while the server stops gets `shutting_down`.

The client rule that makes following a generation exact (nothing missed, nothing twice):
keep `last_seen` (0 at first). Join the room, then catch up from `last_seen`; apply
catch-up events in order. Drop every live event with `seq <= last_seen`; apply one with
`seq == last_seen + 1`; hold one with a larger seq and catch up from `last_seen` again
(it raced ahead of the catch-up reply, which it may do: both travel on one connection but
the reply waits on the database). After a reconnect, join and catch up from `last_seen`.
The server waits for the recorder before answering a catch-up, so an event emitted before
the client joined is always in the reply.

Several nodes share events through Redis (`PLANNER_REDIS_URL`): every process that runs
generations attaches the publisher to its bus at its start (`publishing`,
`attach_publisher`): the CLI, the dashboard and `planner serve` do; the core never does.
"""

from planner.realtime.errors import RealtimeStartError
from planner.realtime.hosting import (
    RealtimeHandle,
    serve_forever,
    start_in_thread,
    start_realtime_in_thread,
)
from planner.realtime.publisher import (
    DEFAULT_CHANNEL,
    RedisPublisher,
    RedisTarget,
    attach_publisher,
    detach_publisher,
    publishing,
    room_for,
)
from planner.realtime.server import RealtimeServer

__all__ = [
    "DEFAULT_CHANNEL",
    "RealtimeHandle",
    "RealtimeServer",
    "RealtimeStartError",
    "RedisPublisher",
    "RedisTarget",
    "attach_publisher",
    "detach_publisher",
    "publishing",
    "room_for",
    "serve_forever",
    "start_in_thread",
    "start_realtime_in_thread",
]
