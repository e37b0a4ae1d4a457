"""generation_attempts: HTTP status, rate-limit headers, thinking, max_tokens, decision

What the client reports of each attempt since issue 14 (planner.llm.types.AttemptRecord):
the HTTP status it got (planner used to recover it from the error message with a regex),
the response's `anthropic-ratelimit-*` headers, the thinking tokens among its output
tokens, the max_tokens it was sent with, and what the strategy decided after it failed.
New nullable columns: DuckDB refuses to add a NOT NULL column to a table with an index
(hence thinking_tokens is nullable, 0 for every attempt written since) and to drop any
column of one, so on DuckDB the downgrade leaves the unused columns there and the upgrade
adds only those missing, as in 0008.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 16:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

def _columns() -> list[sa.Column]:
    return [
    sa.Column("thinking_tokens", sa.Integer(), nullable=True),
    sa.Column("http_status", sa.Integer(), nullable=True),
    sa.Column("rate_limit", sa.JSON(), nullable=True),
    sa.Column("max_tokens", sa.Integer(), nullable=True),
    sa.Column("decision", sa.Text(), nullable=True),
    ]


def upgrade() -> None:
    bind = op.get_bind()
    present = {column["name"] for column in sa.inspect(bind).get_columns("generation_attempts")}
    for column in _columns():
        if column.name not in present:
            op.add_column("generation_attempts", column)


def downgrade() -> None:
    if op.get_bind().dialect.name == "duckdb":
        return  # see the docstring: DuckDB cannot drop them
    for column in reversed(_columns()):
        op.drop_column("generation_attempts", column.name)
