"""experiment_runs.http_status: the HTTP status of the error a contender's library raised

The fault success rates count a contender run apart, as a configuration error, when its
library raised an error no fault causes: a request the API refuses as such
(`planner.protocol.REQUEST_REFUSED_STATUSES`). That used to be recognised by matching the
exception's class name in the stored error text, which the judge may rewrite (it prefixes
its own reason); the status is now stored as data, from the error's `status_code`.

Rows written before this revision get the status their stored error names, the one time
the text is read: `<stage>: <package>.<Class>: <message>` with the `anthropic` SDK's class
for each refused status (`planner.contender_runs`). A nullable column, so DuckDB adds it
to the indexed table; on DuckDB the downgrade leaves it, as in 0009.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 23:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The SDK's class for each status a request the API refuses gets (anthropic._exceptions).
_STATUS_OF_CLASS = {
    "BadRequestError": 400,
    "AuthenticationError": 401,
    "PermissionDeniedError": 403,
    "NotFoundError": 404,
    "UnprocessableEntityError": 422,
}


def upgrade() -> None:
    bind = op.get_bind()
    present = {column["name"] for column in sa.inspect(bind).get_columns("experiment_runs")}
    if "http_status" not in present:
        op.add_column("experiment_runs", sa.Column("http_status", sa.Integer(), nullable=True))
    runs = sa.table(
        "experiment_runs",
        sa.column("generation_id", sa.Uuid()),
        sa.column("error", sa.Text()),
        sa.column("http_status", sa.Integer()),
    )
    for name, status in _STATUS_OF_CLASS.items():
        bind.execute(
            sa.update(runs)
            .where(
                runs.c.generation_id.is_(None),
                runs.c.http_status.is_(None),
                runs.c.error.like(f"%.{name}: %"),
            )
            .values(http_status=status)
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "duckdb":
        return  # see the docstring: DuckDB cannot drop it
    op.drop_column("experiment_runs", "http_status")
