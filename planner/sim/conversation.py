"""Which part of its model's full answer the simulator sends, read from a request's turns.

The *full answer* of a conversation depends only on its opening (model, seed, system
text, first user message; see `planner.sim.answers`), never on `max_tokens` (which only
truncates) nor on later turns. Later turns select which part of it is sent, by where the
text they quote sits in the full answer, never by what they ask:

- a trailing assistant message (prefill): the answer continues right after its text;
- a partial assistant turn followed by a user turn, or a follow-up user turn that quotes
  the end of the text so far (as a model reads the conversation to see where it was):
  the model writes a continuation turn, in one of the ways real models do (below);
- anything else, such as a repair round quoting a damaged answer: the full answer.

Continuation styles (`STYLES`; chosen per request by a `continuation` fault, else
`overlap`): `overlap` repeats 10 to 60 characters before the cut; `none` repeats
nothing; `short` repeats 1 to 3; `preamble` opens with "Continuing from where I left
off:" and a blank line; `fence` reopens a code fence (and closes it at the end);
`reword` restarts the cut line from its beginning with its spacing slightly changed.
Every amount is a seeded draw. `Answer.from_char` stays truthful: after
`preamble_chars` characters that are not the answer's, the reply is the full answer from
`from_char` on, followed by `trailer_chars` that are not the answer's.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from planner.sim.answers import AnswerModel, FullAnswer, Opening, seed_of
from planner.sim.structured import conforming_answer, output_schema
from planner.sim.validation import content_text, system_text
from planner.sim.vocabulary import keywords

MIN_OVERLAP_CHARS = 10
MAX_OVERLAP_CHARS = 60
STYLES = ("overlap", "none", "short", "preamble", "fence", "reword")
DEFAULT_STYLE = "overlap"
PREAMBLE = "Continuing from where I left off:\n\n"
FENCE_OPEN, FENCE_CLOSE = "```json\n", "\n```"
FULL_ANSWER_CACHE_SIZE = 256  # a long plan costs milliseconds to write; retries ask again
_TAIL_CHARS = 200
_QUOTE_MIN_CHARS = 40  # a quoted block this long is found in one place of an answer
_QUOTE_MAX_LINES = 8


@dataclass(frozen=True)
class Answer:
    text: str
    kind: str
    continued_from_char: int  # where in the full answer the answer's own text starts
    preamble_chars: int = 0  # characters before it that are not the answer's
    trailer_chars: int = 0  # characters after it that are not the answer's


def _locate_cut(full: str, partial: str) -> int | None:
    """Where `partial` ends inside `full`: the client's text so far, or its last part."""
    if full.startswith(partial):
        return len(partial)
    tail = partial[-_TAIL_CHARS:]
    position = full.find(tail) if tail else -1
    return None if position < 0 else position + len(tail)


def _quoted_cut(full: str, follow_up: str) -> int | None:
    """Where the text a follow-up user turn quotes ends in `full` (its last quoted block)."""
    lines = follow_up.split("\n")
    for end in range(len(lines), 0, -1):
        for start in range(max(0, end - _QUOTE_MAX_LINES), end):
            block = "\n".join(lines[start:end]).strip("\n")
            if len(block.strip()) >= _QUOTE_MIN_CHARS and block in full:
                return full.find(block) + len(block)
    return None


def _reworded(line: str) -> str:
    """The same line with its spacing changed a little, as a model re-typing it does."""
    if ": " in line:
        return line.replace(": ", ":  ", 1)
    if line.startswith("  "):
        return line[2:]
    return " " + line


def continuation(full: FullAnswer, cut: int, style: str, rng: random.Random) -> Answer:
    """The reply a model writes on a continuation turn after `cut` characters, in `style`."""
    text = full.text
    if style == "overlap":
        start = max(0, cut - rng.randint(MIN_OVERLAP_CHARS, MAX_OVERLAP_CHARS))
        return Answer(text[start:], full.kind, start)
    if style == "short":
        start = max(0, cut - rng.randint(1, 3))
        return Answer(text[start:], full.kind, start)
    if style == "preamble":
        return Answer(PREAMBLE + text[cut:], full.kind, cut, len(PREAMBLE))
    if style == "fence":
        body = FENCE_OPEN + text[cut:] + FENCE_CLOSE
        return Answer(body, full.kind, cut, len(FENCE_OPEN), len(FENCE_CLOSE))
    if style == "reword":
        line_start = text.rfind("\n", 0, cut) + 1
        restarted = _reworded(text[line_start:cut])
        if line_start == cut or restarted == text[line_start:cut]:
            return Answer(text[cut:], full.kind, cut)
        return Answer(restarted + text[cut:], full.kind, cut, len(restarted))
    return Answer(text[cut:], full.kind, cut)


class Responder:
    """Answers requests with one model's full answers, cached by opening."""

    def __init__(self, model: AnswerModel) -> None:
        self.model = model
        self._full_answer = lru_cache(maxsize=FULL_ANSWER_CACHE_SIZE)(self._answer_of)

    def _answer_of(self, opening: Opening, schema_text: str | None) -> FullAnswer:
        full = self.model.full_answer(opening)
        if schema_text is None:
            return full
        # structured outputs: the answer is JSON that fits the schema, nothing else
        rng = random.Random(seed_of(opening.model, opening.seed, opening.first_user, schema_text))
        words = keywords(opening.system + " " + opening.first_user, limit=6)
        return FullAnswer(
            conforming_answer(full.text, json.loads(schema_text), rng, words), full.kind
        )

    def full_answer(self, body: dict[str, Any], seed: int) -> FullAnswer:
        first_user = content_text(body["messages"][0]["content"])
        schema = output_schema(body)
        schema_text = None if schema is None else json.dumps(schema, sort_keys=True)
        return self._full_answer(
            Opening(body["model"], seed, system_text(body.get("system")), first_user), schema_text
        )

    def answer(self, body: dict[str, Any], seed: int, style: str = DEFAULT_STYLE) -> Answer:
        messages = body["messages"]
        full = self.full_answer(body, seed)
        last = messages[-1]
        if last["role"] == "assistant":
            cut = _locate_cut(full.text, content_text(last["content"]))
            if cut is not None:
                return Answer(full.text[cut:], full.kind, cut)
            return Answer(full.text, full.kind, 0)
        if len(messages) < 2:
            return Answer(full.text, full.kind, 0)
        follow_up = content_text(last["content"])
        if messages[-2]["role"] == "assistant":
            cut = _locate_cut(full.text, content_text(messages[-2]["content"]))
        else:
            cut = _quoted_cut(full.text, follow_up)
        if cut is None:
            return Answer(full.text, full.kind, 0)
        rng = random.Random(seed_of(seed, cut, system_text(body.get("system")), follow_up))
        return continuation(full, cut, style, rng)
