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
CONTINUE_UNDER_SCHEMA = (
    " The whole answer, your previous text followed by this continuation, must be one JSON "
    "document matching the schema you were given; output only its remaining characters."
)


MAX_CACHE_BREAKPOINTS = 4
"""The API allows at most four `cache_control` blocks in a request."""


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


def _breakpoints(value: Any) -> int:
    if isinstance(value, dict):
        own = 1 if "cache_control" in value else 0
        return own + sum(_breakpoints(item) for item in value.values())
    if isinstance(value, list):
        return sum(_breakpoints(item) for item in value)
    return 0


def resent_content(
    request: dict[str, Any], text: str, cache_ttl: str | None, cached: tuple[str, ...]
) -> list[dict[str, Any]]:
    """The answer text re-sent on a resume as text blocks, with cache breakpoints.

    A drop that happens again re-sends this text again, longer: with a breakpoint at its
    end, the next resume reads it from cache instead of paying full input for it each time.
    The blocks the previous resume sent (`cached`) are sent again unchanged, the new text
    as one more block, so the cached prefix is byte for byte the same; the breakpoints sit
    on the last two blocks (the previous resume's end, read now, and this one's, written),
    within the four the API allows.
    """
    previous = "".join(cached)
    if cached and text == previous:
        segments = list(cached)
    elif cached and text.startswith(previous):
        segments = [*cached, text[len(previous) :]]
    else:
        segments = [text]
    free = min(2, MAX_CACHE_BREAKPOINTS - _breakpoints(request))
    control: dict[str, str] = {"type": "ephemeral"}
    if cache_ttl is not None:
        control["ttl"] = cache_ttl
    blocks: list[dict[str, Any]] = [{"type": "text", "text": segment} for segment in segments]
    for block in blocks[len(blocks) - free :] if free > 0 else ():
        block["cache_control"] = control
    return blocks


def resent_segments(request: dict[str, Any]) -> tuple[str, ...]:
    """The text blocks of a resume request's re-sent answer (its last assistant turn)."""
    for message in reversed(request["messages"]):
        if message.get("role") == "assistant":
            content = message["content"]
            if isinstance(content, str):
                return (content,)
            return tuple(block.get("text", "") for block in content)
    return ()


def prefill_request(
    request: dict[str, Any],
    kept_text: str,
    *,
    cache_ttl: str | None = None,
    cached: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The request again, with the kept text as the start of the assistant's answer
    (without trailing whitespace, which the API refuses in a prefill)."""
    messages, caller_prefill = _split_caller_prefill(request)
    prefill = (caller_prefill + kept_text).rstrip()
    content = resent_content(request, prefill, cache_ttl, cached)
    return {**request, "messages": [*messages, {"role": "assistant", "content": content}]}


def continuation_request(
    request: dict[str, Any],
    kept_text: str,
    *,
    cache_ttl: str | None = None,
    cached: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The request again, with the partial answer as a past turn and a request to go on.

    The partial answer is sent as it is (an assistant turn that is not the last may end in
    whitespace); thinking blocks of the broken attempt are not sent back: the docs let a
    client omit the thinking of earlier turns (the API drops it from non-tool turns
    anyway), and an unfinished one has no signature to send. Structured outputs are not
    asked of the continuation: a schema constrains a whole answer, and the continuation is
    the rest of one, so the schema goes into the user turn as words and the joined answer
    is checked by whoever parses it (see `CONTINUE_UNDER_SCHEMA`).
    """
    messages, caller_prefill = _split_caller_prefill(request)
    partial = caller_prefill + kept_text
    content = resent_content(request, partial, cache_ttl, cached)
    ask = CONTINUE_PROMPT
    follow_up = {**request}
    config = request.get("output_config")
    if isinstance(config, dict) and config.get("format") is not None:
        ask = CONTINUE_PROMPT + CONTINUE_UNDER_SCHEMA
        rest = {key: value for key, value in config.items() if key != "format"}
        follow_up.pop("output_config")
        if rest:
            follow_up["output_config"] = rest
    return {
        **follow_up,
        "messages": [
            *messages,
            {"role": "assistant", "content": content},
            {"role": "user", "content": ask},
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


class WhitespaceJoiner:
    """Drops the whitespace a prefill resume left out and the model writes again.

    The kept text (already delivered) ends in `resent`, which the prefill could not carry;
    the continuation starts by writing whitespace there again. The part of it equal to
    `resent` is dropped; what differs is kept as the model wrote it (whitespace it writes
    beyond `resent` is appended), so no delivered character is ever taken back.
    """

    def __init__(self, resent: str) -> None:
        self._resent = resent
        self._matched = 0
        self.decided = not resent

    def feed(self, delta: str) -> list[str]:
        if self.decided:
            return [delta]
        resent, matched = self._resent, self._matched
        index = 0
        while index < len(delta) and matched < len(resent) and delta[index] == resent[matched]:
            index += 1
            matched += 1
        self._matched = matched
        if index < len(delta) or matched == len(resent):
            self.decided = True
        rest = delta[index:]
        return [rest] if rest else []
