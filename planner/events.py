"""The progress event contract and an in-process event bus.

Event names are kept from the original system so its front ends keep working. Each event
is a typed, frozen object; `to_message()` gives the wire form every consumer sees:
`{"name", "generation_id", "seq", **payload}`. `seq` is per generation and gap-free:
the publisher (`GenerationEvents`) numbers events, so the database recorder, the
Socket.IO endpoint and the dashboard all agree on it.

The bus never lets a subscriber slow the generation down: `publish` only appends to each
subscriber's queue, and a thread per subscriber delivers. Queues are unbounded, so no
event, lifecycle or progress, is ever dropped.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    name: ClassVar[str]
    lifecycle: ClassVar[bool] = False

    def payload(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class GenerationStart(Event):
    name: ClassVar[str] = "masterplan_generation_start"
    lifecycle: ClassVar[bool] = True
    description: str = ""
    strategy: str = ""
    faults: str = "none"
    model: str = ""
    stage: str = "discovery"


@dataclass(frozen=True)
class TokensProgress(Event):
    name: ClassVar[str] = "masterplan_tokens_progress"
    tokens_received: int = 0
    estimated_total: int = 0
    percentage: float = 0.0
    current_phase: str = ""
    chars: int = 0
    attempt: int = 1
    stage: str = "masterplan"


@dataclass(frozen=True)
class TextDelta(Event):
    name: ClassVar[str] = "masterplan_text_delta"
    text: str = ""
    from_char: int = 0
    """The text replaces everything from this offset of the stage's answer on."""
    stage: str = "masterplan"


@dataclass(frozen=True)
class Recovery(Event):
    name: ClassVar[str] = "masterplan_recovery"
    lifecycle: ClassVar[bool] = True
    attempt: int = 1
    tier: str = ""
    reason: str = ""
    resume_from_char: int = 0
    # What the client does next (planner.llm.types RecoveryNotice.decision): `resume`,
    # `retry`, ...; `discard` (a refusal): drop the text shown so far for this stage.
    decision: str = ""


@dataclass(frozen=True)
class ParsingComplete(Event):
    name: ClassVar[str] = "masterplan_parsing_complete"
    lifecycle: ClassVar[bool] = True
    total_phases: int = 0
    total_milestones: int = 0
    total_tasks: int = 0


@dataclass(frozen=True)
class ValidationStart(Event):
    name: ClassVar[str] = "masterplan_validation_start"
    lifecycle: ClassVar[bool] = True


@dataclass(frozen=True)
class SavingStart(Event):
    name: ClassVar[str] = "masterplan_saving_start"
    lifecycle: ClassVar[bool] = True
    total_entities: int = 0


@dataclass(frozen=True)
class GenerationComplete(Event):
    name: ClassVar[str] = "masterplan_generation_complete"
    lifecycle: ClassVar[bool] = True
    masterplan_id: str = ""
    project_name: str = ""
    total_phases: int = 0
    total_milestones: int = 0
    total_tasks: int = 0
    duration_seconds: float = 0.0
    output_tokens: int = 0


@dataclass(frozen=True)
class GenerationError(Event):
    name: ClassVar[str] = "masterplan_generation_error"
    lifecycle: ClassVar[bool] = True
    message: str = ""
    tier: str = ""


@dataclass(frozen=True)
class GenerationInterrupted(Event):
    """Its runner stopped (found by the sweep); stored and published by the sweeper."""

    name: ClassVar[str] = "masterplan_generation_interrupted"
    lifecycle: ClassVar[bool] = True
    reason: str = ""


@dataclass(frozen=True)
class GenerationResumed(Event):
    """A new runner continues an interrupted generation from its checkpoint."""

    name: ClassVar[str] = "masterplan_generation_resumed"
    lifecycle: ClassVar[bool] = True
    resume_from_char: int = 0
    attempt: int = 1


EVENT_TYPES: dict[str, type[Event]] = {
    cls.name: cls
    for cls in (
        GenerationStart,
        TokensProgress,
        TextDelta,
        Recovery,
        ParsingComplete,
        ValidationStart,
        SavingStart,
        GenerationComplete,
        GenerationError,
        GenerationInterrupted,
        GenerationResumed,
    )
}
TERMINAL_EVENTS = frozenset({GenerationComplete.name, GenerationError.name})


@dataclass(frozen=True)
class EventMessage:
    """One numbered event of one generation: what subscribers receive."""

    generation_id: uuid.UUID
    seq: int
    name: str
    payload: dict[str, Any]

    def to_message(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "generation_id": str(self.generation_id),
            "seq": self.seq,
            **self.payload,
        }


Subscriber = Callable[[EventMessage], None]


@dataclass
class _Subscription:
    callback: Subscriber
    generation_id: uuid.UUID | None
    queue: queue.SimpleQueue[EventMessage | None] = field(default_factory=queue.SimpleQueue)
    thread: threading.Thread | None = None


class EventBus:
    """Fan-out of event messages to subscribers, each on its own delivery thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscriptions: dict[int, _Subscription] = {}
        self._ids = itertools.count(1)

    def subscribe(self, callback: Subscriber, generation_id: uuid.UUID | None = None) -> int:
        """Deliver every message (or one generation's) to `callback`; returns a handle."""
        subscription = _Subscription(callback, generation_id)
        handle = next(self._ids)
        subscription.thread = threading.Thread(
            target=self._deliver, args=(subscription,), name=f"event-bus-{handle}", daemon=True
        )
        subscription.thread.start()
        with self._lock:
            self._subscriptions[handle] = subscription
        return handle

    def unsubscribe(self, handle: int, *, wait: bool = True) -> None:
        """Stop delivering; with `wait`, first deliver everything already published."""
        with self._lock:
            subscription = self._subscriptions.pop(handle, None)
        if subscription is None:
            return
        subscription.queue.put(None)
        if wait and subscription.thread is not threading.current_thread():
            subscription.thread.join()

    def publish(self, message: EventMessage) -> None:
        with self._lock:
            targets = [
                s
                for s in self._subscriptions.values()
                if s.generation_id is None or s.generation_id == message.generation_id
            ]
        for subscription in targets:
            subscription.queue.put(message)

    @staticmethod
    def _deliver(subscription: _Subscription) -> None:
        while (message := subscription.queue.get()) is not None:
            try:
                subscription.callback(message)
            except Exception:
                log.exception("event subscriber failed on %s", message.name)


class GenerationEvents:
    """Numbers one generation's events gap-free and publishes them on a bus."""

    def __init__(self, bus: EventBus, generation_id: uuid.UUID, next_seq: int = 1) -> None:
        self.bus = bus
        self.generation_id = generation_id
        self._seq = itertools.count(next_seq)
        self._lock = threading.Lock()

    def emit(self, event: Event) -> EventMessage:
        with self._lock:
            message = EventMessage(self.generation_id, next(self._seq), event.name, event.payload())
            self.bus.publish(message)
        return message


_default_bus = EventBus()


def default_bus() -> EventBus:
    """The process-wide bus the generation service publishes on."""
    return _default_bus
