"""Prompt-cache accounting: which input tokens are written to, read from or miss the cache.

Blocks marked with `cache_control` (in `system` and in message content) are cache
breakpoints. The prefix up to a breakpoint is cached for 5 minutes of simulated time
after it is written or read, or for an hour with `cache_control: {type: ephemeral, ttl:
"1h"}` (usage then splits `cache_creation` into `ephemeral_5m_input_tokens` and
`ephemeral_1h_input_tokens`). As the docs say, an entry is available only once the
response that writes it has begun: until that response's first token, a parallel
request with the same prefix misses and writes it too. A request reports the longest
cached prefix as `cache_read_input_tokens`, the rest up to its last breakpoint as
`cache_creation_input_tokens`, and everything after that as `input_tokens`. As on the
real API, a prefix shorter than the model's minimum cacheable length (the catalogue's
figure: 4,096 tokens for Opus 4.5/4.6 and Haiku 4.5, 1,024 for Sonnet 4.6, ...) is not
cached at all: its usage shows 0 cache tokens. Where the catalogue has no figure (the
5.5 generation), the simulator assumes 1,024, the smallest any Sonnet documents.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from planner.catalog import lookup
from planner.tokens import count_tokens

TTL_S = 300.0
MESSAGE_OVERHEAD_TOKENS = 4  # role markers around each message
REQUEST_OVERHEAD_TOKENS = 3
UNKNOWN_MIN_CACHEABLE_TOKENS = 1024


def min_cacheable_tokens(model: str) -> int:
    spec = lookup(model)
    figure = spec.min_cacheable_tokens if spec is not None else None
    return figure or UNKNOWN_MIN_CACHEABLE_TOKENS


@dataclass(frozen=True)
class InputUsage:
    input_tokens: int
    cache_creation_input_tokens: int
    cache_read_input_tokens: int
    cache_creation_1h_input_tokens: int = 0  # the part of the creation written for 1 hour
    written_keys: tuple[str, ...] = ()  # the entries this request writes

    @property
    def total(self) -> int:
        return self.input_tokens + self.cache_creation_input_tokens + self.cache_read_input_tokens


TTL_1H_S = 3600.0
TTLS = {"5m": TTL_S, "1h": TTL_1H_S}


@dataclass(frozen=True)
class Breakpoint:
    key: str
    upto: int  # prompt tokens up to and including this block
    ttl_s: float


def _ttl_s(block: dict[str, Any]) -> float | None:
    """The block's cache lifetime when it is a breakpoint, else None."""
    control = block.get("cache_control")
    if not isinstance(control, dict):
        return None
    return TTLS.get(control.get("ttl", "5m"), TTL_S)


def _content_blocks(body: dict[str, Any]) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    system = body.get("system")
    if isinstance(system, list):
        blocks += [b for b in system if isinstance(b, dict)]
    for message in body.get("messages", []):
        if isinstance(message, dict) and isinstance(message.get("content"), list):
            blocks += [b for b in message["content"] if isinstance(b, dict)]
    return blocks


def cache_control_problem(body: dict[str, Any]) -> str | None:
    """The API's 400 message for a `cache_control` it does not accept, else None."""
    for block in _content_blocks(body):
        if "cache_control" not in block:
            continue
        control = block["cache_control"]
        if not isinstance(control, dict) or control.get("type") != "ephemeral":
            return "cache_control.type: Input should be 'ephemeral'"
        if control.get("ttl", "5m") not in TTLS:
            return "cache_control.ttl: Input should be '5m' or '1h'"
    return None


def _blocks(body: dict[str, Any]) -> list[tuple[str, float | None]]:
    """(text, its cache lifetime when it is a breakpoint) for every piece of the prompt."""
    pieces: list[tuple[str, float | None]] = []
    system = body.get("system")
    if isinstance(system, str):
        pieces.append((system, None))
    elif isinstance(system, list):
        pieces += [(b.get("text", ""), _ttl_s(b)) for b in system if isinstance(b, dict)]
    for message in body.get("messages", []):
        pieces.append((f"\x00{message['role']}\x00", None))
        content = message["content"]
        if isinstance(content, str):
            pieces.append((content, None))
        else:
            pieces += [(b.get("text", ""), _ttl_s(b)) for b in content if isinstance(b, dict)]
    return pieces


def _prefixes(body: dict[str, Any]) -> tuple[int, list[Breakpoint]]:
    """Total input tokens and every cache breakpoint long enough to be cached."""
    digest = hashlib.sha256(str(body.get("model")).encode())
    tokens = REQUEST_OVERHEAD_TOKENS
    minimum = min_cacheable_tokens(str(body.get("model")))
    breakpoints: list[Breakpoint] = []
    for text, ttl_s in _blocks(body):
        digest.update(text.encode() + b"\x01")
        tokens += MESSAGE_OVERHEAD_TOKENS if text.startswith("\x00") else count_tokens(text)
        if ttl_s is not None and tokens >= minimum:
            breakpoints.append(Breakpoint(digest.hexdigest(), tokens, ttl_s))
    return tokens, breakpoints


def input_tokens(body: dict[str, Any]) -> int:
    """All input tokens of a request, cached or not (the count_tokens endpoint)."""
    return _prefixes(body)[0]


@dataclass
class _Entry:
    expires_s: float
    ready: bool  # readable only once the response that wrote it has begun


class PromptCache:
    """Cache entries by prefix; each readable once the response that wrote it has begun."""

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def account(self, body: dict[str, Any]) -> InputUsage:
        """This request's usage; the entries it writes wait for `begun(usage)`."""
        tokens, breakpoints = _prefixes(body)
        now = self._now()
        written: list[str] = []
        with self._lock:
            read = 0
            for point in breakpoints:
                entry = self._entries.get(point.key)
                if entry is not None and entry.ready and entry.expires_s > now:
                    read = point.upto
                    entry.expires_s = max(entry.expires_s, now + point.ttl_s)
            creation = creation_1h = 0
            previous = read
            for point in breakpoints:
                if point.upto <= read:
                    continue
                segment = point.upto - previous
                previous = point.upto
                creation += segment
                creation_1h += segment if point.ttl_s == TTL_1H_S else 0
                entry = self._entries.get(point.key)
                if entry is None or entry.expires_s <= now:
                    self._entries[point.key] = _Entry(now + point.ttl_s, ready=False)
                    written.append(point.key)
                else:
                    entry.expires_s = max(entry.expires_s, now + point.ttl_s)
        return InputUsage(tokens - read - creation, creation, read, creation_1h, tuple(written))

    def begun(self, usage: InputUsage) -> None:
        """The response that wrote these entries has begun: later requests may read them."""
        with self._lock:
            for key in usage.written_keys:
                if key in self._entries:
                    self._entries[key].ready = True
