"""Names a model writes become TEXT; refresh-token families (revocable sessions)

1. Text columns. A 300-character task name passed the plan schema but not the
   VARCHAR(255) columns on PostgreSQL, so the save failed after every token was spent
   and the user saw the SQL error. Two ways to make schema and columns agree: limits in
   the pydantic schema, or columns that fit anything the schema accepts. Columns that fit:
   a limit in the schema would refuse (or send for repair) a plan that is fine apart from
   a long name, and the model's answer is already bounded by max_tokens; TEXT costs
   PostgreSQL nothing over VARCHAR(n). The same holds for what the endpoint writes into an
   attempt (stop_reason, error type, request id): a hostile or odd endpoint decides their
   length. Names people type (users, experiments) keep their limits, which the code checks.

   PostgreSQL changes the column types. DuckDB needs nothing: its VARCHAR(n) is VARCHAR,
   the length is neither enforced nor stored (a 300-character value already fits, and
   the drift check treats DuckDB's text types as one), and an ALTER of a column that a
   foreign key or index depends on is refused there anyway. The downgrade truncates
   longer values on PostgreSQL so they fit the old columns.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 15:45:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column, length before this revision, nullable)
TEXT_COLUMNS = [
    ("discovery_documents", "domain", 255, False),
    ("masterplans", "project_name", 255, False),
    ("masterplans", "architecture_style", 255, False),
    ("masterplan_phases", "name", 255, False),
    ("masterplan_milestones", "name", 255, False),
    ("masterplan_tasks", "name", 255, False),
    ("masterplan_subtasks", "name", 255, False),
    ("generation_attempts", "stop_reason", 32, True),
    ("generation_attempts", "error_type", 64, True),
    ("generation_attempts", "request_id", 128, True),
]


def _on_duckdb() -> bool:
    return op.get_bind().dialect.name == "duckdb"


def upgrade() -> None:
    if not _on_duckdb():
        for table, column, length, nullable in TEXT_COLUMNS:
            op.alter_column(
                table,
                column,
                type_=sa.Text(),
                existing_type=sa.String(length=length),
                existing_nullable=nullable,
            )


def downgrade() -> None:
    if not _on_duckdb():
        for table, column, length, nullable in TEXT_COLUMNS:
            op.alter_column(
                table,
                column,
                type_=sa.String(length=length),
                existing_type=sa.Text(),
                existing_nullable=nullable,
                postgresql_using=f"left({column}, {length})",
            )
