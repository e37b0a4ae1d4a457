"""What the simulator knows about model names: family, version, limits and pace.

Pace defaults to a Sonnet-class model: about 1.2 s to the first token and ~130 output
tokens a second, so a 17,000-token MasterPlan streams in a little over two minutes
(the original system saw its server cut such streams at about 134 s).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# claude-sonnet-4-5-20250929, claude-opus-4-6, claude-haiku-4-5, claude-sonnet-4-20250514
_NEW_STYLE = re.compile(r"^claude-(?P<family>[a-z]+)-(?P<major>\d+)(?:-(?P<minor>\d{1,2}))?(?:-|$)")
# claude-3-5-sonnet-20241022, claude-3-opus-20240229
_OLD_STYLE = re.compile(r"^claude-(?P<major>\d+)(?:-(?P<minor>\d{1,2}))?-(?P<family>[a-z]+)(?:-|$)")

PREFILL_REMOVED_FROM = (4, 6)


@dataclass(frozen=True)
class ModelProfile:
    name: str
    family: str
    version: tuple[int, int]
    ttft_s: float
    tokens_per_s: float
    max_output_tokens: int

    @property
    def supports_prefill(self) -> bool:
        return self.version < PREFILL_REMOVED_FROM


_PACE = {  # family -> (time to first token, output tokens per second)
    "haiku": (0.6, 260.0),
    "sonnet": (1.2, 130.0),
    "opus": (2.0, 70.0),
}


def _max_output(family: str, version: tuple[int, int]) -> int:
    if version < (3, 7):
        return 8192
    if family == "opus" and version < (4, 5):
        return 32000
    return 64000


def model_profile(name: str) -> ModelProfile | None:
    """The profile of a Claude model name, or None when the name is not a Claude model."""
    match = _NEW_STYLE.match(name) or _OLD_STYLE.match(name)
    if match is None or match["family"] not in _PACE:
        return None
    version = (int(match["major"]), int(match["minor"] or 0))
    ttft_s, tokens_per_s = _PACE[match["family"]]
    return ModelProfile(
        name=name,
        family=match["family"],
        version=version,
        ttft_s=ttft_s,
        tokens_per_s=tokens_per_s,
        max_output_tokens=_max_output(match["family"], version),
    )
