"""A user's generations: filtered, paged lists and single records.

Every function takes the owner's `user_id` and filters by it in SQL, so a caller can
never see someone else's rows. Lists are paged in the database (ORDER BY … LIMIT …
OFFSET) and counted separately: a page costs the same with ten rows or ten thousand.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Select, distinct, func, select

from planner.analysis._query import read_frame, read_one, read_scalar
from planner.db import Database, Generation, MasterPlanRow, utcnow
from planner.store import liveness
from planner.store.status import LIVE_STATUSES

# A generation in one of these has not ended yet (queued in the service, or streaming).
HISTORY_COLUMNS = (
    "id",
    "created_at",
    "description",
    "project_name",
    "strategy",
    "fault_spec",
    "model",
    "status",
    "tier",
    "attempts",
    "output_tokens",
    "wasted_output_tokens",
    "duration_s",
)


@dataclass(frozen=True)
class HistoryFilter:
    """What the History page filters on; empty tuples and None mean "any"."""

    statuses: tuple[str, ...] = ()
    strategies: tuple[str, ...] = ()
    faults: tuple[str, ...] = ()
    since: date | None = None
    until: date | None = None

    def apply(self, statement: Select[Any]) -> Select[Any]:
        if self.statuses:
            statement = statement.where(Generation.status.in_(self.statuses))
        if self.strategies:
            statement = statement.where(Generation.strategy.in_(self.strategies))
        if self.faults:
            statement = statement.where(Generation.fault_spec.in_(self.faults))
        if self.since is not None:
            start = datetime.combine(self.since, time())
            statement = statement.where(Generation.created_at >= start)
        if self.until is not None:
            end = datetime.combine(self.until + timedelta(days=1), time())
            statement = statement.where(Generation.created_at < end)
        return statement


def history_page(
    db: Database,
    user_id: uuid.UUID,
    filters: HistoryFilter | None = None,
    *,
    page: int = 1,
    page_size: int = 50,
) -> pd.DataFrame:
    """One page (1-based) of the user's generations, newest first.

    `title` is the plan's project name, or the start of the description before there is one.
    """
    if page < 1 or page_size < 1:
        raise ValueError(f"page and page_size must be positive, got {page} and {page_size}")
    statement = (
        select(
            Generation.id,
            Generation.created_at,
            Generation.description,
            MasterPlanRow.project_name,
            Generation.strategy,
            Generation.fault_spec,
            Generation.model,
            Generation.status,
            Generation.tier,
            Generation.attempts,
            Generation.output_tokens,
            Generation.wasted_output_tokens,
            Generation.duration_s,
        )
        .outerjoin(MasterPlanRow, MasterPlanRow.id == Generation.masterplan_id)
        .where(Generation.user_id == user_id)
        .order_by(Generation.created_at.desc(), Generation.id.desc())
        .limit(page_size)
        .offset((page - 1) * page_size)
    )
    frame = read_frame(db, (filters or HistoryFilter()).apply(statement))
    if frame.empty:
        return pd.DataFrame(columns=[*HISTORY_COLUMNS, "title"])
    frame["title"] = frame["project_name"].where(
        frame["project_name"].notna(), frame["description"].str.slice(0, 100)
    )
    return frame


def history_count(db: Database, user_id: uuid.UUID, filters: HistoryFilter | None = None) -> int:
    statement = select(func.count()).select_from(Generation).where(Generation.user_id == user_id)
    return int(read_scalar(db, (filters or HistoryFilter()).apply(statement)) or 0)


def history_options(db: Database, user_id: uuid.UUID) -> dict[str, list[str]]:
    """The distinct statuses, strategies and fault specs the user has, for filter widgets."""
    options: dict[str, list[str]] = {}
    for key, column in (
        ("statuses", Generation.status),
        ("strategies", Generation.strategy),
        ("faults", Generation.fault_spec),
    ):
        statement = select(distinct(column).label("value")).where(Generation.user_id == user_id)
        options[key] = sorted(read_frame(db, statement)["value"].astype(str).tolist())
    return options


def get_generation(
    db: Database, generation_id: uuid.UUID, user_id: uuid.UUID
) -> dict[str, Any] | None:
    """The generation's row as a dict, or None when it does not exist or is not the user's."""
    statement = select(*Generation.__table__.columns).where(
        Generation.id == generation_id, Generation.user_id == user_id
    )
    return read_one(db, statement)


def seems_dead(row: dict[str, Any], *, now: datetime | None = None) -> bool:
    """A `running` generation whose process is gone or silent: never to be shown as live.

    The same test the store's sweep applies (`planner.store.liveness`); a queued one
    waits for a slot without a heartbeat, so only running ones are judged.
    """
    if row["status"] != "running":
        return False
    now = now or utcnow()
    silent = row["heartbeat_at"] is not None and (
        (now - row["heartbeat_at"]).total_seconds() > liveness.STALE_AFTER_S
    )
    return silent or liveness.owner_gone(row["owner_pid"], row["owner_host"], row["id"])


def running_generation(db: Database, user_id: uuid.UUID) -> uuid.UUID | None:
    """The user's most recent generation not ended yet (to re-attach a new tab)."""
    statement = (
        select(Generation.id)
        .where(Generation.user_id == user_id, Generation.status.in_(LIVE_STATUSES))
        .order_by(Generation.created_at.desc())
        .limit(1)
    )
    return read_scalar(db, statement)
