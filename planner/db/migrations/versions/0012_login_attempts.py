"""login_attempts: the login and sign-up throttle's windows, shared by every process

Issue 17 item 3 limited login attempts per account and per client in the memory of the
process serving logins, so several dashboard processes multiplied the limits by their
number and a restart forgot them. The windows now live in the database every dashboard
shares (`planner.throttle`): one row per counted attempt, its key a SHA-256 of the account
name or the client address. A new table with no foreign key, so nothing to rebuild on
DuckDB.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 23:55:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("at_s", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempts")),
    )
    op.create_index(
        op.f("ix_login_attempts_kind_key_at_s"),
        "login_attempts",
        ["kind", "key", "at_s"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_login_attempts_kind_key_at_s"), table_name="login_attempts")
    op.drop_table("login_attempts")
