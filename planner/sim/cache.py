"""Prompt-cache accounting: which input tokens are written to, read from or miss the cache.

Blocks marked with `cache_control` (in `system` and in message content) are cache
breakpoints. The prefix up to a breakpoint is cached for 5 minutes of simulated time
after it is written or read. A request reports the longest cached prefix as
`cache_read_input_tokens`, the rest up to its last breakpoint as
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

    @property
    def total(self) -> int:
        return self.input_tokens + self.cache_creation_input_tokens + self.cache_read_input_tokens


def _blocks(body: dict[str, Any]) -> list[tuple[str, bool]]:
    """(text, is_breakpoint) for every piece of the prompt, in order."""
    pieces: list[tuple[str, bool]] = []
    system = body.get("system")
    if isinstance(system, str):
        pieces.append((system, False))
    elif isinstance(system, list):
        pieces += [(b.get("text", ""), "cache_control" in b) for b in system if isinstance(b, dict)]
    for message in body.get("messages", []):
        pieces.append((f"\x00{message['role']}\x00", False))
        content = message["content"]
        if isinstance(content, str):
            pieces.append((content, False))
        else:
            pieces += [
                (b.get("text", ""), "cache_control" in b) for b in content if isinstance(b, dict)
            ]
    return pieces


def _prefixes(body: dict[str, Any]) -> tuple[int, list[tuple[str, int]]]:
    """Total input tokens and (prefix key, tokens up to it) for each cache breakpoint."""
    digest = hashlib.sha256(str(body.get("model")).encode())
    tokens = REQUEST_OVERHEAD_TOKENS
    breakpoints: list[tuple[str, int]] = []
    for text, is_breakpoint in _blocks(body):
        digest.update(text.encode() + b"\x01")
        tokens += MESSAGE_OVERHEAD_TOKENS if text.startswith("\x00") else count_tokens(text)
        if is_breakpoint and tokens >= min_cacheable_tokens(str(body.get("model"))):
            breakpoints.append((digest.hexdigest(), tokens))
    return tokens, breakpoints


def input_tokens(body: dict[str, Any]) -> int:
    """All input tokens of a request, cached or not (the count_tokens endpoint)."""
    return _prefixes(body)[0]


class PromptCache:
    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self._expires: dict[str, float] = {}
        self._lock = threading.Lock()

    def account(self, body: dict[str, Any]) -> InputUsage:
        tokens, breakpoints = _prefixes(body)
        now = self._now()
        with self._lock:
            read = 0
            for key, upto in breakpoints:
                if self._expires.get(key, -1.0) > now:
                    read = upto
                    self._expires[key] = now + TTL_S
            cached_upto = breakpoints[-1][1] if breakpoints else 0
            for key, _ in breakpoints:
                self._expires.setdefault(key, now + TTL_S)
                if self._expires[key] <= now:
                    self._expires[key] = now + TTL_S
        creation = max(0, cached_upto - read)
        return InputUsage(tokens - read - creation, creation, read)
