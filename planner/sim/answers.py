"""What a simulated model is: the whole answer it writes to a conversation's opening.

A real API serves models it did not write, and so does the simulator: a model is any
object with `full_answer(opening) -> FullAnswer`. The opening (model name, seed, system
text, first user message) decides the whole answer; the simulator handles everything
around it (prefill, continuation turns, stop sequences, max_tokens, pace, faults), so a
model knows nothing of HTTP or turns and the simulator nothing of what a model is for.

`PlainProse` is the simulator's own model: a few paragraphs about the prompt's words.
planner hands its planning model (`planner.plan.model`) in from outside.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from typing import Protocol

from planner.sim.vocabulary import keywords

_PLAIN_OPENINGS = (
    "Here is a short answer about {k}.",
    "Let me walk through {k} step by step.",
    "Good question about {k}.",
)
_PLAIN_SENTENCES = (
    "The key idea is to keep {k} simple and observable.",
    "Start with the smallest version of {k} that a user can try.",
    "Measure how {k} behaves before optimising anything.",
    "Write down the assumptions behind {k} and test each one.",
    "A clear interface around {k} makes later changes cheap.",
    "Failures in {k} should be visible, reproducible and recoverable.",
    "Keep the data of {k} in one place and derive the rest.",
    "Small, reversible steps reduce the risk of changing {k}.",
)


def seed_of(*parts: object) -> int:
    """A stable 64-bit seed from any values (the same on every run and platform)."""
    digest = hashlib.sha256("\x00".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big")


@dataclass(frozen=True)
class Opening:
    """What decides a conversation's whole answer: never max_tokens, never later turns."""

    model: str
    seed: int
    system: str
    first_user: str

    def random(self) -> random.Random:
        """A generator seeded by the whole opening: the same opening, the same answer."""
        return random.Random(seed_of(self.model, self.seed, self.system, self.first_user))


@dataclass(frozen=True)
class FullAnswer:
    text: str
    kind: str  # what sort of answer it is, counted in the simulator's stats ("answers")


class AnswerModel(Protocol):
    """A model the simulator serves: a pure function of the opening."""

    def full_answer(self, opening: Opening) -> FullAnswer: ...


class PlainProse:
    """The default model: plain paragraphs built from the prompt's own words."""

    kind = "plain"

    def full_answer(self, opening: Opening) -> FullAnswer:
        rng = opening.random()
        words = keywords(opening.system + " " + opening.first_user, limit=5)
        paragraphs = []
        for paragraph in range(rng.randint(2, 4)):
            sentences = (
                [_PLAIN_OPENINGS[rng.randrange(len(_PLAIN_OPENINGS))]] if paragraph == 0 else []
            )
            sentences += [rng.choice(_PLAIN_SENTENCES) for _ in range(rng.randint(3, 6))]
            paragraphs.append(" ".join(s.format(k=rng.choice(words)) for s in sentences))
        return FullAnswer("\n\n".join(paragraphs), self.kind)


__all__ = ["AnswerModel", "FullAnswer", "Opening", "PlainProse", "seed_of"]
