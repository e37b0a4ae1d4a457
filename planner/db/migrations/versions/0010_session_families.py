"""session_families: one row per login (revocable sessions, issue 17 item 2)

A login starts a family: a chain of refresh tokens of which only the newest is valid
(`planner.sessions`). Showing an older one ends the family (reuse detection); logging
out, a password change and deleting the user end families, and every access token
issued under an ended family is refused. A new table with a foreign key to users:
creating one is fine on DuckDB (only adding one to an existing table is not).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 16:50:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "session_families",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("current_jti", sa.String(length=64), nullable=False),
        sa.Column("previous_jti", sa.String(length=64), nullable=True),
        sa.Column("rotated_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_used_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_reason", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_session_families_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_families")),
    )
    op.create_index(
        op.f("ix_session_families_user_id"), "session_families", ["user_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_session_families_user_id"), table_name="session_families")
    op.drop_table("session_families")
