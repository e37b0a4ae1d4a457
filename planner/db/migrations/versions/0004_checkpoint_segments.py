"""generation_checkpoints: a stage's checkpoint text appended piece by piece

The recorder used to write a generation's whole checkpoint text into
`generations.checkpoint_text` with every batch, so the text written grew with the square
of the answer (10.7x the final text at 51k tokens at speed 10, about 36x for a standard
plan at real pace). Now each batch appends only what is new since the last one: a row
(seq, stage, from_char, text) whose text replaces the stage's checkpoint from `from_char`
on (an append, or a rewind after a restart). A resume rebuilds the stage's text from its
rows; `generations.checkpoint_text` is written once, when the generation is closed.

No foreign key, like generation_chunks (0003): only the recorder writes these rows, after
the generation's row exists, and deletes remove them first (`planner.db.cascade`). A new
table only, so nothing is rebuilt on DuckDB.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 13:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "generation_checkpoints",
        sa.Column("generation_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("from_char", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("generation_id", "seq", name=op.f("pk_generation_checkpoints")),
    )


def downgrade() -> None:
    op.drop_table("generation_checkpoints")
