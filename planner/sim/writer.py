"""What the simulated model answers: a pure function of the request and a seed.

The *full answer* of a conversation depends only on the model, the seed, the system
prompt and the first user message, never on `max_tokens` (which only truncates) nor on
later turns. Later turns select which part of the full answer is sent:

- a trailing assistant message (prefill): the answer continues right after its text;
- a partial assistant turn followed by a user turn asking to continue: the answer
  resumes a short, deterministic overlap *before* the cut, as a model re-reading its
  own text does, so the client has to remove the overlap;
- a repair turn (planner's REPAIR_OPENING) or anything else: the full answer.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from planner.plan.prompts import DISCOVERY_ROLE, MASTERPLAN_ROLE, REPAIR_OPENING
from planner.sim import plans
from planner.sim.validation import content_text, system_text
from planner.sim.vocabulary import keywords

MIN_OVERLAP_CHARS = 10
MAX_OVERLAP_CHARS = 60
_TAIL_CHARS = 200
_TASK_COUNT = re.compile(r"exactly (\d+) tasks")
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


@dataclass(frozen=True)
class Answer:
    text: str
    kind: str  # "discovery" | "masterplan" | "plain"
    continued_from_char: int  # where in the full answer this answer starts


def _seed(*parts: object) -> int:
    digest = hashlib.sha256("\x00".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _tagged(text: str, tag: str) -> str | None:
    match = re.search(rf"<{tag}>\s*(.*?)\s*</{tag}>", text, re.DOTALL)
    return match.group(1) if match else None


def _plain(prompt: str, rng: random.Random) -> str:
    words = keywords(prompt, limit=5)
    paragraphs = []
    for paragraph in range(rng.randint(2, 4)):
        sentences = [_PLAIN_OPENINGS[rng.randrange(len(_PLAIN_OPENINGS))]] if paragraph == 0 else []
        sentences += [rng.choice(_PLAIN_SENTENCES) for _ in range(rng.randint(3, 6))]
        paragraphs.append(" ".join(s.format(k=rng.choice(words)) for s in sentences))
    return "\n\n".join(paragraphs)


@lru_cache(maxsize=256)
def full_answer(model: str, seed: int, system: str, first_user: str) -> tuple[str, str]:
    """(kind, text) of the whole answer to a conversation's opening."""
    rng = random.Random(_seed(model, seed, system, first_user))
    description = _tagged(first_user, "project_description") or first_user
    if DISCOVERY_ROLE in system:
        return "discovery", plans.render(plans.discovery(description, rng))
    if MASTERPLAN_ROLE in system:
        count_match = _TASK_COUNT.search(first_user)
        task_count = int(count_match.group(1)) if count_match else 24
        try:
            found = json.loads(_tagged(first_user, "discovery") or "{}")
        except json.JSONDecodeError:
            found = {}
        if not isinstance(found, dict):
            found = {}
        return "masterplan", plans.render(
            plans.masterplan(description, found, max(1, task_count), rng)
        )
    return "plain", _plain(system + " " + first_user, rng)


def _locate_cut(full: str, partial: str) -> int | None:
    """Where `partial` ends inside `full`: the client's text so far, or its last part."""
    if full.startswith(partial):
        return len(partial)
    tail = partial[-_TAIL_CHARS:]
    position = full.find(tail) if tail else -1
    return None if position < 0 else position + len(tail)


def answer(body: dict[str, Any], seed: int) -> Answer:
    messages = body["messages"]
    system = system_text(body.get("system"))
    kind, full = full_answer(body["model"], seed, system, content_text(messages[0]["content"]))
    last = messages[-1]
    if last["role"] == "assistant":
        cut = _locate_cut(full, content_text(last["content"]))
        if cut is not None:
            return Answer(full[cut:], kind, cut)
        return Answer(full, kind, 0)
    last_text = content_text(last["content"])
    if (
        len(messages) >= 3
        and messages[-2]["role"] == "assistant"
        and not last_text.startswith(REPAIR_OPENING)
    ):
        cut = _locate_cut(full, content_text(messages[-2]["content"]))
        if cut is not None:
            overlap = random.Random(_seed(seed, cut, system, last_text)).randint(
                MIN_OVERLAP_CHARS, MAX_OVERLAP_CHARS
            )
            start = max(0, cut - overlap)
            return Answer(full[start:], kind, start)
    return Answer(full, kind, 0)
