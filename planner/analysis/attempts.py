"""Every attempt of a generation explained in words: its own tier, why it happened, how it ended.

The attempts table stores a `kind` (`stream | nonstream | resume | continue`) and a stage
(`discovery`, `masterplan`, or `discovery_repair` / `plan_repair` for the repair round of
an answer that was complete but invalid). A repair attempt is a fresh stream, but it is
not the `stream` tier: it is the `repair` tier, and it costs whole answers of tokens, so
the detail page says so instead of letting it pass as a plain stream.
"""

from __future__ import annotations

import re

import pandas as pd

REPAIR_SUFFIX = "_repair"
STAGE_NAMES = {
    "discovery": "discovery",
    "masterplan": "plan",
    "discovery_repair": "discovery repair",
    "plan_repair": "plan repair",
}


_DECISION = re.compile(r"\s*\((\w+)\)\s*$")


def split_reason(reason: str) -> tuple[str, str]:
    """A recovery event's `reason` ("kind: message (decision)") as (kind, message).

    The decision in brackets is the tier the event already names, so it is dropped.
    """
    kind, _, message = str(reason).partition(": ")
    return kind.strip(), _DECISION.sub("", message).strip()


def attempt_tier(stage: str, kind: str, first_of_stage: bool) -> str:
    """The tier this attempt itself ran as (not the generation's final tier)."""
    if stage.endswith(REPAIR_SUFFIX):
        return "repair"
    if kind == "stream":
        return "stream" if first_of_stage else "restart"
    return {"resume": "resume", "continue": "resume", "nonstream": "nonstream"}.get(kind, kind)


def _why(row: pd.Series, tier: str, previous: int | None) -> str:
    stage = STAGE_NAMES.get(row["stage"], row["stage"])
    after = f" after attempt {previous} failed" if previous is not None else ""
    if tier == "repair":
        answer = row["stage"].removesuffix(REPAIR_SUFFIX)
        reason = (
            f"The {answer} answer was complete but invalid: one repair request sent it back "
            "with the validation errors, and the whole answer was generated again."
        )
    elif tier == "stream":
        reason = f"First request of the {stage} stage."
    elif tier == "restart":
        reason = f"The {stage} stage started again from scratch{after}."
    elif tier == "resume":
        reason = (
            f"Continued the {stage} text from character {int(row['resume_from_char']):,}{after}"
            + (" (a continuation request, overlap removed)." if row["kind"] == "continue" else ".")
        )
    elif tier == "nonstream":
        reason = f"One non-streaming request for the whole {stage} answer{after}."
    else:
        reason = f"A {row['kind']} request of the {stage} stage."
    if pd.notna(row.get("error_type")):
        message = row.get("error_message")
        detail = f": {message}" if isinstance(message, str) and message else ""
        reason += f" It failed ({row['error_type']}{detail})."
    return reason


def explain_attempts(attempts: pd.DataFrame) -> pd.DataFrame:
    """`attempts_table` with two more columns: `tier` (the attempt's own) and `why`."""
    table = attempts.copy()
    if table.empty:
        return table.assign(tier=pd.Series(dtype=str), why=pd.Series(dtype=str))
    tiers, reasons = [], []
    seen: set[str] = set()
    last_failed: dict[str, int] = {}
    for _, row in table.iterrows():
        stage = str(row["stage"])
        tier = attempt_tier(stage, str(row["kind"]), stage not in seen)
        seen.add(stage)
        tiers.append(tier)
        reasons.append(_why(row, tier, last_failed.get(stage)))
        if pd.notna(row.get("error_type")):
            last_failed[stage] = int(row["number"])
    table.insert(3, "tier", tiers)
    table["why"] = reasons
    return table
