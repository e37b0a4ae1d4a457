"""Analysis queries returning pandas DataFrames, shared by the dashboard and the notebooks.

One module per concern: `history` (a user's generations, paged), `timelines` (chunks and
attempts), `progress` (stored events: progress, recoveries, text), `stats` (fallback
statistics), `plans` (a stored plan as tables), `experiments` (failure-mode experiment
runs, summaries and strategy rankings). Every query takes the caller's `Database` first.
"""

from planner.analysis.attempts import explain_attempts, split_reason
from planner.analysis.compare import (
    Comparison,
    ExperimentComparison,
    compare_experiments,
    compare_generations,
    shown_cells,
)
from planner.analysis.describe import describe_faults, describe_strategy
from planner.analysis.experiments import (
    experiment_runs,
    experiment_status,
    experiment_summary,
    failure_table,
    format_success,
    generations_with_failures,
    list_experiments,
    rank_strategies,
    shown_summary,
    summarize,
    tier_distribution,
)
from planner.analysis.history import (
    HistoryFilter,
    get_generation,
    history_count,
    history_options,
    history_page,
    running_generation,
    seems_dead,
)
from planner.analysis.plans import PlanTables, load_plan, task_table
from planner.analysis.progress import (
    assemble_tail,
    events_log,
    latest_progress,
    recoveries,
    text_tail,
)
from planner.analysis.stats import (
    StatsFilter,
    describe,
    fault_success_rates,
    histogram,
    outcomes,
    success_matrix,
    summary_by,
    tier_counts,
)
from planner.analysis.timelines import (
    attempts_table,
    chunk_rows,
    chunk_timeline,
    fault_markers,
    timeline_csv,
)

__all__ = [
    "HistoryFilter",
    "PlanTables",
    "assemble_tail",
    "attempts_table",
    "Comparison",
    "ExperimentComparison",
    "compare_experiments",
    "compare_generations",
    "chunk_rows",
    "chunk_timeline",
    "describe",
    "describe_faults",
    "describe_strategy",
    "events_log",
    "explain_attempts",
    "experiment_runs",
    "experiment_status",
    "experiment_summary",
    "failure_table",
    "format_success",
    "list_experiments",
    "fault_markers",
    "fault_success_rates",
    "StatsFilter",
    "generations_with_failures",
    "get_generation",
    "histogram",
    "history_count",
    "history_options",
    "history_page",
    "latest_progress",
    "load_plan",
    "outcomes",
    "rank_strategies",
    "recoveries",
    "running_generation",
    "seems_dead",
    "split_reason",
    "success_matrix",
    "shown_cells",
    "shown_summary",
    "summarize",
    "summary_by",
    "task_table",
    "text_tail",
    "tier_counts",
    "tier_distribution",
    "timeline_csv",
]
