"""experiment_runs: contenders beside strategies (configuration, versions, judged outcome)

An experiment's run may now be another library's recovery path (`planner.contenders`), not
only one of planner's strategies, and every run is judged by one rule: its final text
equals the fault-free answer of its seed. So each run records:

- `config`: what ran (`kind` strategy or contender, the configuration its documentation
  recommends, the model); `versions`: each library's installed version;
- `outcome`: the judge's verdict (`complete`, `failed_raised`, `silently_truncated`,
  `duplicated`, `corrupted`);
- `answers`: a contender run's text per stage (it has no generation row holding it), kept
  so it can be judged once the seed's fault-free answer is known, and audited after;
- `delivered_chars`: what the library handed its consumer (a whole-stream retry hands
  text over twice).

Nullable columns only: DuckDB cannot add a NOT NULL column with a default to a table with
an index, and old rows have none of these facts. DuckDB cannot drop a column of a table with
an index either, so its downgrade makes the table again without them, rows kept (as 0003
does: the rows wait in a plain copy, no table is renamed).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 15:40:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RUN_COLUMNS = (
    sa.Column("config", sa.JSON(), nullable=True),
    sa.Column("versions", sa.JSON(), nullable=True),
    sa.Column("outcome", sa.String(length=24), nullable=True),
    sa.Column("answers", sa.JSON(), nullable=True),
    sa.Column("delivered_chars", sa.Integer(), nullable=True),
)


OLD_COLUMNS = (
    "id, experiment_id, generation_id, fault, strategy, repeat_index, seed, status, tier, "
    "duration_s, baseline_duration_s, output_tokens, final_tokens, wasted_output_tokens, "
    "attempts, error, created_at"
)
INDEXED = ("experiment_id", "generation_id")


def upgrade() -> None:
    for column in RUN_COLUMNS:
        op.add_column("experiment_runs", column)


def _rebuild_without_new_columns() -> None:
    """DuckDB: experiment_runs as migration 0001 made it, rows kept."""
    op.execute(f"CREATE TABLE experiment_runs_copy AS SELECT {OLD_COLUMNS} FROM experiment_runs")
    for column in INDEXED:
        op.drop_index(op.f(f"ix_experiment_runs_{column}"), table_name="experiment_runs")
    op.drop_table("experiment_runs")
    op.create_table(
        "experiment_runs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("experiment_id", sa.Uuid(), nullable=False),
        sa.Column("generation_id", sa.Uuid(), nullable=True),
        sa.Column("fault", sa.Text(), nullable=False),
        sa.Column("strategy", sa.String(length=32), nullable=False),
        sa.Column("repeat_index", sa.Integer(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("tier", sa.String(length=16), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("baseline_duration_s", sa.Float(), nullable=True),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("final_tokens", sa.Integer(), nullable=False),
        sa.Column("wasted_output_tokens", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.id"],
            name=op.f("fk_experiment_runs_experiment_id_experiments"),
        ),
        sa.ForeignKeyConstraint(
            ["generation_id"],
            ["generations.id"],
            name=op.f("fk_experiment_runs_generation_id_generations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experiment_runs")),
    )
    for column in INDEXED:
        op.create_index(op.f(f"ix_experiment_runs_{column}"), "experiment_runs", [column])
    op.execute(
        f"INSERT INTO experiment_runs ({OLD_COLUMNS}) SELECT {OLD_COLUMNS} FROM experiment_runs_copy"
    )
    op.drop_table("experiment_runs_copy")


def downgrade() -> None:
    if op.get_bind().dialect.name == "duckdb":
        _rebuild_without_new_columns()
        return
    for column in reversed(RUN_COLUMNS):
        op.drop_column("experiment_runs", column.name)
