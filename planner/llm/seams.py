"""Joining a continuation turn to the text already kept, exactly or not silently at all.

A model that cannot be prefilled continues in a new turn, and real models open that turn
in several ways: with the very next character, by repeating 1–3 characters or a longer
stretch, with a preamble ("Continuing from where I left off:"), by reopening a code fence,
or by restarting the last line in other words. From the text alone a 1–3 character repeat
cannot be told from a coincidence (`}` after `}`), so the client makes the seam checkable:

- while a no-prefill model streams, the last line (at least `ANCHOR_MIN_CHARS`, at most
  `ANCHOR_MAX_CHARS`) is held back from `on_chunk` (`LagBuffer`); when the stream breaks,
  that *anchor* was never delivered;
- the continuation request sends the text up to the anchor, which ends at a line break,
  and the continuation must write the anchor again: `AnchoredJoiner` finds it, drops
  whatever came before it (nothing, a repeat, a preamble, a fence, a reworded line) and
  goes on from there, so the stitched text is the one the model would have written
  without the fault;
- if the anchor does not come within `MAX_JUNK_CHARS` (a model that took another path
  from the same line), the continuation is joined by the older rules (a preamble line
  and a fence opener dropped, the longest repeat of the kept text of at least 4
  characters cut) and the attempt records `seam="fallback"`: the text is the model's, not
  necessarily the fault-free one, and nothing delivered is taken back either way;
- a fence the continuation opened is closed at its end too: a trailing fence is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from planner.llm.stitching import SeamJoiner

ANCHOR_MIN_CHARS = 32
ANCHOR_MAX_CHARS = 400
MAX_JUNK_CHARS = 400
_FENCE_OPEN = re.compile(r"\A\s*```[\w-]*[ \t]*\n")
_FENCE_CLOSE = re.compile(r"\n?[ \t]*```\s*\Z")
_PREAMBLE = re.compile(r"\A[^\n{}\[\]\"]{0,120}:[ \t]*\n+")


class LagBuffer:
    """Holds back the tail of the text (the last line, within bounds) until it is safe to
    deliver: more text arrived after it, or the answer ended."""

    def __init__(self, deliver: Callable[[str], None]) -> None:
        self._deliver = deliver
        self.pending = ""

    def feed(self, delta: str) -> None:
        pending = self.pending + delta
        cut = len(pending) - ANCHOR_MIN_CHARS
        if cut <= 0:
            self.pending = pending
            return
        line_start = pending.rfind("\n", 0, cut) + 1
        if len(pending) - line_start > ANCHOR_MAX_CHARS:
            line_start = cut
        if line_start > 0:
            self._deliver(pending[:line_start])
            pending = pending[line_start:]
        self.pending = pending

    def flush(self, drop_closing_fence: bool = False) -> None:
        pending = self.pending
        if drop_closing_fence:
            pending = _FENCE_CLOSE.sub("", pending)
        self.pending = ""
        if pending:
            self._deliver(pending)


def strip_opening(held: str) -> tuple[str, str]:
    """A continuation without what models put before the text: ("fence" | "preamble" | "",
    the rest)."""
    fence = _FENCE_OPEN.match(held)
    if fence:
        return "fence", held[fence.end() :]
    preamble = _PREAMBLE.match(held)
    if preamble:
        rest = held[preamble.end() :]
        fence = _FENCE_OPEN.match(rest)
        return "preamble", rest[fence.end() :] if fence else rest
    return "", held


class AnchoredJoiner:
    """Finds where a continuation rejoins the kept text (see the module docstring).

    `kept` is what the continuation request sent; `anchor` is the held-back text that
    followed it. `seam` says how the join was made once it is decided: `exact` (the
    continuation began with the anchor), `repeat`, `preamble`, `fence`, `reworded`, or
    `fallback` when the anchor never came.
    """

    def __init__(self, kept: str, anchor: str) -> None:
        self._kept = kept
        self._anchor = anchor
        self._held: list[str] = []
        self._held_chars = 0
        self.decided = False
        self.seam: str | None = None
        self.dropped_chars = 0
        self.opened_fence = False
        self._fallback: SeamJoiner | None = None

    def feed(self, delta: str) -> list[str]:
        if self.decided:
            return [delta] if self._fallback is None else self._fallback.feed(delta) or []
        self._held.append(delta)
        self._held_chars += len(delta)
        held = "".join(self._held)
        if self._anchor:
            at = held.find(self._anchor)
            if 0 <= at <= MAX_JUNK_CHARS:
                return self._join_at(held, at)
            if self._held_chars < MAX_JUNK_CHARS + len(self._anchor):
                return []
        elif self._held_chars < MAX_JUNK_CHARS and not _settled(held):
            return []
        return self._fall_back(held)

    def finish(self) -> list[str]:
        """The continuation ended: decide with what was held back."""
        if self.decided:
            return self._fallback.finish() if self._fallback is not None else []
        held = "".join(self._held)
        at = held.find(self._anchor) if self._anchor else -1
        if 0 <= at <= MAX_JUNK_CHARS:
            return self._join_at(held, at)
        released = self._fall_back(held)
        return released + (self._fallback.finish() if self._fallback is not None else [])

    def _join_at(self, held: str, at: int) -> list[str]:
        junk = held[:at]
        self.decided = True
        self.dropped_chars = at
        self.seam = _kind_of(junk, self._kept)
        self.opened_fence = self.seam == "fence" or "```" in junk
        self._held = []
        return [held[at:]]

    def _fall_back(self, held: str) -> list[str]:
        self.decided = True
        self.seam = "fallback"
        opening, rest = strip_opening(held)
        self.opened_fence = opening == "fence" or (opening == "preamble" and "```" in held)
        self.dropped_chars = len(held) - len(rest)
        self._fallback = SeamJoiner(self._kept)
        self._held = []
        return self._fallback.feed(rest) or [] if rest else []


def _settled(held: str) -> bool:
    """Without an anchor, enough has come to see past any opening (a full first line)."""
    return "\n" in held.lstrip()


def _kind_of(junk: str, kept: str) -> str:
    if not junk:
        return "exact"
    if kept.endswith(junk):
        return "repeat"
    opening, rest = strip_opening(junk)
    if opening and (not rest or kept.endswith(rest)):
        return opening
    return "reworded"
