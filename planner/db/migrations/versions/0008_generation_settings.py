"""generations.settings: the request settings a generation was run with

Thinking, effort, answer format and output budget, chosen per stage (discovery,
MasterPlan) and stored with the generation so that an experiment can compare them and a
resume asks the model the same way (`planner.plan.settings`). JSON, nullable: a generation
stored before this column existed was asked with the model's own defaults, which is what
a missing value means.

DuckDB adds a column to a table other tables reference, but cannot drop one ("Cannot alter
entry ... because there are entries that depend on it"): the downgrade leaves the unused,
nullable column there on DuckDB and drops it on PostgreSQL, and the upgrade adds it only
where it is missing.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 16:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    present = {column["name"] for column in sa.inspect(op.get_bind()).get_columns("generations")}
    if "settings" not in present:  # a DuckDB downgrade leaves it (see above)
        op.add_column("generations", sa.Column("settings", sa.JSON(), nullable=True))


def downgrade() -> None:
    if op.get_bind().dialect.name != "duckdb":
        op.drop_column("generations", "settings")
