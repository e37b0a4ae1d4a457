"""`planner export`: every recorded table as Parquet."""

from __future__ import annotations

import click

from planner.cli.base import PlannerCommand, database


@click.command("export", cls=PlannerCommand)
@click.argument("directory")
@click.option("--overwrite", is_flag=True, help="Replace Parquet files already in DIRECTORY.")
@click.option(
    "--batch-rows",
    default=50_000,
    show_default=True,
    type=int,
    help="Rows read and written at a time (memory stays bounded on big chunk tables).",
)
@click.option("--user", "username", default=None, help="Only this user's rows (default: all).")
def export(directory: str, overwrite: bool, batch_rows: int, username: str | None) -> None:
    """Export generations, attempts, chunks, events, plans and experiments as Parquet.

    One file per table in DIRECTORY (generations, generation_attempts, generation_chunks,
    generation_events, experiments, experiment_runs, discovery_documents, masterplans,
    masterplan_phases, masterplan_milestones, masterplan_tasks, masterplan_subtasks);
    prints each table's row count. With --user, only that user's rows.
    """
    from planner import auth
    from planner.export import ExportedTable, export_parquet

    user_id = auth.get_user(database(), username).id if username else None

    def report(done: ExportedTable) -> None:
        click.echo(f"{done.table:<20} {done.rows:>10} rows  {done.path}")

    exported = export_parquet(
        database(),
        directory,
        overwrite=overwrite,
        batch_rows=batch_rows,
        on_table=report,
        user_id=user_id,
    )
    click.echo(f"exported {sum(e.rows for e in exported)} rows in {len(exported)} files", err=True)
