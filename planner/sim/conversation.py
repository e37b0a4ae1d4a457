"""Which part of its model's full answer the simulator sends, read from a request's turns.

The *full answer* of a conversation depends only on its opening (model, seed, system
text, first user message; see `planner.sim.answers`), never on `max_tokens` (which only
truncates) nor on later turns. Later turns select which part of it is sent, by where the
text they quote sits in the full answer, never by what they say:

- a trailing assistant message (prefill): the answer continues right after its text;
- a partial assistant turn followed by a user turn: when that partial text can be found
  in the full answer, the answer resumes a short, deterministic overlap *before* the
  cut, as a model re-reading its own text does, so the client has to remove the overlap;
- anything else, such as a repair round quoting a damaged answer: the full answer.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from planner.sim.answers import AnswerModel, FullAnswer, Opening, seed_of
from planner.sim.validation import content_text, system_text

MIN_OVERLAP_CHARS = 10
MAX_OVERLAP_CHARS = 60
FULL_ANSWER_CACHE_SIZE = 256  # a long plan costs milliseconds to write; retries ask again
_TAIL_CHARS = 200


@dataclass(frozen=True)
class Answer:
    text: str
    kind: str
    continued_from_char: int  # where in the full answer this answer starts


def _locate_cut(full: str, partial: str) -> int | None:
    """Where `partial` ends inside `full`: the client's text so far, or its last part."""
    if full.startswith(partial):
        return len(partial)
    tail = partial[-_TAIL_CHARS:]
    position = full.find(tail) if tail else -1
    return None if position < 0 else position + len(tail)


class Responder:
    """Answers requests with one model's full answers, cached by opening."""

    def __init__(self, model: AnswerModel) -> None:
        self.model = model
        self._full_answer = lru_cache(maxsize=FULL_ANSWER_CACHE_SIZE)(model.full_answer)

    def full_answer(self, body: dict[str, Any], seed: int) -> FullAnswer:
        first_user = content_text(body["messages"][0]["content"])
        return self._full_answer(
            Opening(body["model"], seed, system_text(body.get("system")), first_user)
        )

    def answer(self, body: dict[str, Any], seed: int) -> Answer:
        messages = body["messages"]
        full = self.full_answer(body, seed)
        last = messages[-1]
        if last["role"] == "assistant":
            cut = _locate_cut(full.text, content_text(last["content"]))
            if cut is not None:
                return Answer(full.text[cut:], full.kind, cut)
            return Answer(full.text, full.kind, 0)
        if len(messages) >= 3 and messages[-2]["role"] == "assistant":
            cut = _locate_cut(full.text, content_text(messages[-2]["content"]))
            if cut is not None:
                overlap_seed = seed_of(
                    seed, cut, system_text(body.get("system")), content_text(last["content"])
                )
                overlap = random.Random(overlap_seed).randint(MIN_OVERLAP_CHARS, MAX_OVERLAP_CHARS)
                start = max(0, cut - overlap)
                return Answer(full.text[start:], full.kind, start)
        return Answer(full.text, full.kind, 0)
