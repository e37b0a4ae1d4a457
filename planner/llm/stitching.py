"""Continuing an answer from the text already received, and joining the pieces exactly.

Two ways to continue. With an assistant *prefill* the model writes on from the last
character it is given, so the new text is appended as is; a prefill must not end in
whitespace, so the kept text is cut back to its last non-blank character first (the model
re-emits that whitespace). Models that refuse prefill get the partial answer as an earlier
assistant turn and a user turn asking to continue; such a model often repeats the end of
what it had written, so `SeamJoiner` holds back the start of the continuation until it can
see how much of it repeats the kept text (the longest suffix of the kept text that is a
prefix of the continuation) and drops exactly that.
"""

from __future__ import annotations

from typing import Any

CONTINUE_PROMPT = (
    "Your previous answer was cut off. Continue it exactly where it stopped: output only the "
    "remaining text, starting with the very next character, without repeating anything, "
    "without any preamble or commentary."
)


def _as_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(block.get("text", "") for block in content if block.get("type") == "text")


def _split_caller_prefill(request: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
    """The request's messages without a trailing assistant prefill, and that prefill."""
    messages = list(request["messages"])
    if messages and messages[-1].get("role") == "assistant":
        return messages[:-1], _as_text(messages[-1]["content"])
    return messages, ""


def prefill_request(request: dict[str, Any], kept_text: str) -> dict[str, Any]:
    """The request again, with the kept text as the start of the assistant's answer."""
    messages, caller_prefill = _split_caller_prefill(request)
    prefill = (caller_prefill + kept_text).rstrip()
    return {**request, "messages": [*messages, {"role": "assistant", "content": prefill}]}


def continuation_request(request: dict[str, Any], kept_text: str) -> dict[str, Any]:
    """The request again, with the partial answer as a past turn and a request to go on."""
    messages, caller_prefill = _split_caller_prefill(request)
    partial = (caller_prefill + kept_text).rstrip()
    return {
        **request,
        "messages": [
            *messages,
            {"role": "assistant", "content": partial},
            {"role": "user", "content": CONTINUE_PROMPT},
        ],
    }


def longest_overlap(kept: str, continuation: str) -> int:
    """Length of the longest suffix of `kept` that is also a prefix of `continuation`.

    Knuth-Morris-Pratt: the prefix function of `continuation`, then a scan of `kept`;
    linear in both lengths.
    """
    if not kept or not continuation:
        return 0
    failure = [0] * len(continuation)
    matched = 0
    for i in range(1, len(continuation)):
        while matched and continuation[i] != continuation[matched]:
            matched = failure[matched - 1]
        if continuation[i] == continuation[matched]:
            matched += 1
        failure[i] = matched
    matched = 0
    for char in kept:
        while matched and (matched == len(continuation) or char != continuation[matched]):
            matched = failure[matched - 1]
        if matched < len(continuation) and char == continuation[matched]:
            matched += 1
    return matched


class SeamJoiner:
    """Holds back the start of a continuation until the repeated overlap can be cut.

    While everything held back still occurs in the recent kept text, the model may be in
    the middle of repeating it, so the decision waits (up to `window_chars`). Then the
    longest suffix/prefix overlap is dropped if it is at least `min_overlap_chars` long or
    repeats the whole kept text (a model starting over); a shorter match is more likely a
    coincidence (`}` after `}`) than a repeat.
    """

    def __init__(self, kept: str, *, window_chars: int = 4000, min_overlap_chars: int = 4) -> None:
        self._tail = kept[-window_chars:]
        self._kept_chars = len(kept)
        self._window_chars = window_chars
        self._min_overlap_chars = min_overlap_chars
        self._held: list[str] = []
        self._held_chars = 0
        self.decided = False
        self.overlap_chars = 0

    def feed(self, delta: str) -> list[str] | None:
        """The deltas to release (trimmed), or None while the decision has to wait."""
        if self.decided:
            return [delta]
        self._held.append(delta)
        self._held_chars += len(delta)
        held = "".join(self._held)
        if self._held_chars < self._window_chars and held in self._tail:
            return None
        return self._decide(held)

    def finish(self) -> list[str]:
        """The continuation ended: decide with what was held back."""
        if self.decided:
            return []
        return self._decide("".join(self._held))

    def _decide(self, held: str) -> list[str]:
        overlap = longest_overlap(self._tail, held)
        if overlap < self._min_overlap_chars and overlap < self._kept_chars:
            overlap = 0
        self.decided = True
        self.overlap_chars = overlap
        released: list[str] = []
        skip = overlap
        for delta in self._held:
            if skip >= len(delta):
                skip -= len(delta)
                continue
            released.append(delta[skip:])
            skip = 0
        self._held = []
        return released
