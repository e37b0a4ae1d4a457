"""generation_leases, and Procrastinate's schema on PostgreSQL

Durable generations (issue 15): every claim of a generation takes a new epoch in
`generation_leases`, and every write of a runner is accepted only under its own epoch, so a
runner that lost its generation (paused, partitioned, presumed dead) writes nothing more.
The runner renews `expires_at` with each write; a sweep interrupts generations whose lease
expired. `cancel_requested` carries a cancel to whichever process runs the generation.
A table of its own rather than columns of `generations`: adding columns to a table other
tables reference is refused by DuckDB (0002 says why), and leases change at every batch.

On PostgreSQL this also applies Procrastinate's schema (its jobs, workers and events
tables and functions), which `planner worker` and the enqueuing front ends use. DuckDB
has no job queue: there generations run in-process (DESIGN.md, Durability).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 16:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from procrastinate.schema import SchemaManager

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Everything Procrastinate's schema creates is named procrastinate_*.
_DROP_PROCRASTINATE = """
DO $$
DECLARE item record;
BEGIN
    FOR item IN SELECT tablename FROM pg_tables
        WHERE schemaname = current_schema() AND tablename LIKE 'procrastinate\\_%' LOOP
        EXECUTE format('DROP TABLE IF EXISTS %I CASCADE', item.tablename);
    END LOOP;
    FOR item IN SELECT p.oid::regprocedure AS signature FROM pg_proc p
        JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate\\_%' LOOP
        EXECUTE format('DROP FUNCTION IF EXISTS %s CASCADE', item.signature);
    END LOOP;
    FOR item IN SELECT t.typname FROM pg_type t
        JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname = current_schema() AND t.typname LIKE 'procrastinate\\_%'
        AND t.typtype IN ('e', 'c') LOOP
        EXECUTE format('DROP TYPE IF EXISTS %I CASCADE', item.typname);
    END LOOP;
END $$;
"""


def _on_postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _run_script(sql: str) -> None:
    """A multi-statement script as it is: the driver gets parameters (none), so its own
    placeholder character is doubled."""
    op.get_bind().exec_driver_sql(sql.replace("%", "%%"))


def upgrade() -> None:
    op.create_table(
        "generation_leases",
        sa.Column("generation_id", sa.Uuid(), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=255), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=True),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("job_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("generation_id", name=op.f("pk_generation_leases")),
    )
    if _on_postgresql():
        _run_script(SchemaManager.get_schema())


def downgrade() -> None:
    if _on_postgresql():
        _run_script(_DROP_PROCRASTINATE)
    op.drop_table("generation_leases")
