"""DuckDB: no index on generations.status

DuckDB executes an UPDATE of an indexed column as delete + insert, and its foreign-key
check then refuses the delete of a row other tables still reference: a generation's
status could never change once its first attempt, chunk or event was stored
("Violates foreign key constraint because key ... is still referenced"). PostgreSQL keeps
the index (the interrupted-generation scan uses it); alembic check ignores indexes on
DuckDB, so the models stay as they are.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 09:50:00

"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _on_duckdb() -> bool:
    return op.get_bind().dialect.name == "duckdb"


def upgrade() -> None:
    if _on_duckdb():
        op.drop_index("ix_generations_status", table_name="generations")


def downgrade() -> None:
    if _on_duckdb():
        op.create_index("ix_generations_status", "generations", ["status"], unique=False)
