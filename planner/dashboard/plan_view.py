"""A stored MasterPlan as a tree: phases → milestones → tasks → subtasks."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from planner.analysis import PlanTables, task_table
from planner.dashboard.text import literal

COMPLEXITY_BADGE = {"low": "green", "medium": "blue", "high": "orange", "critical": "red"}


def render_summary(tables: PlanTables) -> None:
    plan = tables.plan
    columns = st.columns(5)
    columns[0].metric("Phases", plan["total_phases"])
    columns[1].metric("Milestones", plan["total_milestones"])
    columns[2].metric("Tasks", plan["total_tasks"])
    columns[3].metric("Subtasks", plan["total_subtasks"])
    columns[4].metric("Estimated hours", f"{plan['estimated_total_hours']:,.0f}")
    details = []
    if plan.get("architecture_style"):
        details.append(f"**Architecture:** {literal(plan['architecture_style'])}")
    stack = plan.get("tech_stack") or {}
    if stack:
        parts = [
            f"{literal(k)}: {literal(', '.join(map(str, v)) if isinstance(v, list) else v)}"
            for k, v in stack.items()
        ]
        details.append("**Tech stack:** " + " · ".join(parts))
    if plan.get("description"):
        details.append(literal(plan["description"]))
    if details:
        st.markdown("  \n".join(details))


def render_tree(tables: PlanTables) -> None:
    """One expander per phase; milestones as headings; tasks with badges and subtasks."""
    if tables.phases.empty:
        st.info("This plan has no phases stored.")
        return
    subtasks_by_task = {
        task_id: group.sort_values("subtask_number")
        for task_id, group in tables.subtasks.groupby("task_id")
    }
    for index, phase in enumerate(tables.phases.itertuples()):
        milestones = tables.milestones[tables.milestones["phase_id"] == phase.id]
        phase_tasks = tables.tasks[tables.tasks["phase_id"] == phase.id]
        label = (
            f"Phase {phase.phase_number} · {literal(phase.name)} — {len(milestones)} milestones, "
            f"{len(phase_tasks)} tasks"
        )
        with st.expander(label, expanded=index == 0):
            if phase.description:
                st.caption(literal(phase.description))
            for milestone in milestones.itertuples():
                st.markdown(
                    f":material/flag: **M{milestone.milestone_number} · {literal(milestone.name)}**"
                )
                if milestone.description:
                    st.caption(literal(milestone.description))
                tasks = phase_tasks[phase_tasks["milestone_id"] == milestone.id]
                st.markdown(_tasks_markdown(tasks, subtasks_by_task))


def _tasks_markdown(tasks: pd.DataFrame, subtasks_by_task: dict[object, pd.DataFrame]) -> str:
    lines = []
    for task in tasks.itertuples():
        colour = COMPLEXITY_BADGE.get(str(task.complexity), "gray")
        depends = ", ".join(f"T{n}" for n in (task.depends_on_numbers or []))
        after = f" · after {depends}" if depends else ""
        lines.append(
            f"- **T{task.task_number} · {literal(task.name)}** "
            f":{colour}-badge[{literal(task.complexity)}] "
            f":gray-badge[{task.estimated_hours:g} h]{after}"
        )
        for subtask in subtasks_by_task.get(task.id, pd.DataFrame()).itertuples():
            number = f"{task.task_number}.{subtask.subtask_number}"
            lines.append(f"    - {number} {literal(subtask.name)}")
    return "\n".join(lines) if lines else "_No tasks._"


def render_task_table(tables: PlanTables) -> None:
    st.dataframe(
        task_table(tables),
        hide_index=True,
        width="stretch",
        column_config={
            "task_number": st.column_config.NumberColumn("task", format="T%d"),
            "estimated_hours": st.column_config.NumberColumn("hours", format="%.1f"),
            "depends_on": st.column_config.TextColumn("depends on"),
        },
    )
