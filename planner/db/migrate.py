"""Alembic from code: `upgrade()` brings any configured database to head."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from planner.config import get_settings
from planner.db.engine import with_lock_retry

MIGRATIONS = Path(__file__).resolve().parent.parent.parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url or get_settings().database_url)
    return config


def upgrade(url: str | None = None, revision: str = "head") -> None:
    config = alembic_config(url)
    with_lock_retry(lambda: command.upgrade(config, revision))


def downgrade(url: str | None = None, revision: str = "base") -> None:
    config = alembic_config(url)
    with_lock_retry(lambda: command.downgrade(config, revision))
