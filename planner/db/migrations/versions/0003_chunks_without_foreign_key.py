"""generation_chunks: no foreign key to generations

Chunks are the high-volume table: a MasterPlan stream writes thousands of rows, and on
PostgreSQL the foreign-key check (one trigger call per row, each a locking look-up of
the same generation) cost two thirds of the insert: 9.1-9.8 ms per 2,000 rows against
2.9-3.2 ms without it. That server work runs beside the generation on a 2-core machine
and was the largest single part of the recording overhead (the benchmark's median pair
ratio on PostgreSQL: 1.18-1.23x in three runs with it, 1.09-1.17x in four without). The reference stays true without the
database checking it row by row: a generation's row is written before its recorder
starts, only the recorder writes chunks, and deletes remove chunks first
(`planner.db.cascade`). Events (about a hundred rows per generation) keep their key.

PostgreSQL drops the constraint. DuckDB can neither drop nor add a constraint, so the
table is rebuilt there, rows kept, inside the migration's transaction.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 15:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FOREIGN_KEY = "fk_generation_chunks_generation_id_generations"
COLUMNS = "generation_id, seq, attempt, stage, char_offset, chars, t_ms"


def _on_duckdb() -> bool:
    return op.get_bind().dialect.name == "duckdb"


def _rebuild_chunks(with_foreign_key: bool) -> None:
    """DuckDB: the chunk table made again, with or without the key, rows kept.

    No table is renamed: DuckDB also notes a foreign key on the referenced table, under
    the referencing table's name, and a rename leaves that note stale (later deletes
    from generations fail with "VerifyForeignKey failed to find foreign key index", or
    generations can no longer be dropped). So the rows wait in a plain copy while the
    table is dropped and created again under its own name.
    """
    constraints: list[sa.Constraint] = [
        sa.PrimaryKeyConstraint("generation_id", "seq", name=op.f("pk_generation_chunks"))
    ]
    if with_foreign_key:
        constraints.append(
            sa.ForeignKeyConstraint(["generation_id"], ["generations.id"], name=op.f(FOREIGN_KEY))
        )
    op.execute(f"CREATE TABLE generation_chunks_copy AS SELECT {COLUMNS} FROM generation_chunks")
    op.drop_table("generation_chunks")
    op.create_table(
        "generation_chunks",
        sa.Column("generation_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("char_offset", sa.Integer(), nullable=False),
        sa.Column("chars", sa.Integer(), nullable=False),
        sa.Column("t_ms", sa.Integer(), nullable=False),
        *constraints,
    )
    op.execute(
        f"INSERT INTO generation_chunks ({COLUMNS}) SELECT {COLUMNS} FROM generation_chunks_copy"
    )
    op.drop_table("generation_chunks_copy")


def upgrade() -> None:
    if _on_duckdb():
        _rebuild_chunks(with_foreign_key=False)
    else:
        op.drop_constraint(op.f(FOREIGN_KEY), "generation_chunks", type_="foreignkey")


def downgrade() -> None:
    if _on_duckdb():
        _rebuild_chunks(with_foreign_key=True)
    else:
        op.create_foreign_key(
            op.f(FOREIGN_KEY), "generation_chunks", "generations", ["generation_id"], ["id"]
        )
