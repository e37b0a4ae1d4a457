"""One deterministic approximate tokenizer.

Claude's tokenizer is not public; planner needs token counts that are stable, cheap and
close enough (about 3.5-4 characters a token on English and JSON). The simulator uses
`split_tokens` to cut its deltas and count usage, and the client uses `count_tokens` to
estimate what a dropped attempt generated, so both sides count the same way.
"""

from __future__ import annotations

import re

_TOKEN = re.compile(r"\s?[A-Za-z]{1,6}|\s?\d{1,3}|\s?[^\sA-Za-z\d]{1,2}|\s+")


def split_tokens(text: str) -> list[str]:
    """Pieces whose concatenation is exactly `text`."""
    return _TOKEN.findall(text)


def count_tokens(text: str) -> int:
    return len(_TOKEN.findall(text))
