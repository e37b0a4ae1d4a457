"""The content words of a prompt: what a simulated model writes about.

A real model names the parts of its answer after what the prompt talks about; the
simulated models do the same by pulling content words out of the prompt, falling back
to generic software nouns when the prompt is short.
"""

from __future__ import annotations

import re

_STOPWORDS = frozenset(
    """
    a an and are as at be been being but by can could do does for from has have how i in
    into is it its it's let lets like make makes may might more most must my need needs
    of on or our out over should so some such than that the their them then there these
    they this those through to too under up us use used uses using very want wants was
    we were what when where which while who whom why will with within without would you
    your also app apps application applications build builds building system systems
    tool tools platform simple small new web based allow allows allowing help helps each
    every all any people user users one two three them get gets way just only both well
    """.split()  # noqa: SIM905
)
_WORD = re.compile(r"[A-Za-z][A-Za-z-]{2,}")
FALLBACK_NOUNS = ("account", "catalog", "order", "payment", "report", "notification", "schedule")


def keywords(description: str, limit: int = 8) -> list[str]:
    """Distinct content words of the description, in order of appearance, lower case."""
    seen: list[str] = []
    for word in _WORD.findall(description):
        lowered = word.lower().strip("-")
        if lowered in _STOPWORDS or len(lowered) < 4 or lowered in seen:
            continue
        seen.append(lowered)
        if len(seen) == limit:
            break
    for noun in FALLBACK_NOUNS:
        if len(seen) >= 3:
            break
        if noun not in seen:
            seen.append(noun)
    return seen
