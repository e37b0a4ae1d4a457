"""Generate: describe a project, choose how to survive failures, watch it stream.

Starting hands the request to the generation service and returns at once. The page then
follows the generation from the database (see `live`). The run a tab follows is in its
address (`?run=<id>`), so a refresh keeps following that run and no other, even when the
same user runs another in a second browser. A new tab without one re-attaches to the
user's running generation on its first run only: a tab already showing the form keeps
what was typed in it. A running generation whose process is gone is marked
`interrupted` (the store's own sweep) instead of being shown as live.
"""

from __future__ import annotations

import json
import uuid

import pandas as pd
import streamlit as st

from planner import analysis
from planner.config import get_settings
from planner.dashboard import live, nav, session, widgets
from planner.dashboard.resources import database, service
from planner.dashboard.text import code, literal
from planner.llm import DEFAULT_STRATEGY, STRATEGIES
from planner.plan import GenerationRequest, GenerationRequestError
from planner.plan.request import MAX_SPEED
from planner.sim import PROFILES
from planner.store import LIVE_STATUSES

FOLLOWING_KEY = "following_generation"
RUN_PARAM = "run"
ATTACHED_KEY = "gen_attached_once"
RECENT = 5
CUSTOM_FAULTS = "custom JSON spec…"
EXAMPLE_SPEC = '[{"type": "reset", "toxicity": 1.0, "on_requests": [1], "at_fraction": 0.9}]'


def render() -> None:
    user = session.require_user()
    st.title("Generate a MasterPlan")
    followed = _followed_generation(user.user_id)
    if followed is not None and analysis.seems_dead(followed):
        service().store.mark_interrupted()
        followed = analysis.get_generation(database(), followed["id"], user.user_id)
    if followed is not None:
        if followed["status"] in LIVE_STATUSES:
            live.render_running(followed["id"], user.user_id)
            if st.button("Cancel this generation", icon=":material/stop_circle:", key="gen_cancel"):
                _cancel(followed["id"])
            return
        live.render_outcome(followed, user.user_id, _new_generation_button)
        return
    _form(user.user_id)
    _recent(user.user_id)


def _followed_generation(user_id: uuid.UUID) -> dict | None:
    """The run in this tab's address, else (first run of a new tab only) the running one."""
    first_run = not st.session_state.get(ATTACHED_KEY)
    st.session_state[ATTACHED_KEY] = True
    chosen = st.query_params.get(RUN_PARAM) or st.session_state.get(FOLLOWING_KEY)
    try:
        generation_id = uuid.UUID(chosen) if chosen else None
    except ValueError:
        generation_id = None
    if generation_id is None and first_run:
        generation_id = analysis.running_generation(database(), user_id)
    row = analysis.get_generation(database(), generation_id, user_id) if generation_id else None
    if row is None:
        _stop_following()
        return None
    st.session_state[FOLLOWING_KEY] = str(generation_id)
    st.query_params[RUN_PARAM] = str(generation_id)
    return row


def _stop_following() -> None:
    st.session_state.pop(FOLLOWING_KEY, None)
    st.query_params.pop(RUN_PARAM, None)


def _new_generation_button() -> None:
    if st.button("Start a new generation", type="primary", icon=":material/add:", key="gen_new"):
        _stop_following()
        st.rerun()


def _cancel(generation_id: uuid.UUID) -> None:
    if service().cancel(generation_id):
        st.toast(
            "Cancelling: the generation stops at its next chunk.", icon=":material/stop_circle:"
        )
    else:
        st.warning(
            "This generation is not running in this dashboard process (it was started "
            "by the CLI or another server), so it cannot be cancelled from here."
        )


def _recent(user_id: uuid.UUID) -> None:
    recent = analysis.history_page(database(), user_id, page_size=RECENT)
    if recent.empty:
        st.caption("Your generations will be listed here and in History.")
        return
    st.markdown("**Your latest generations**")
    for row in recent.itertuples():
        duration = f" · {row.duration_s:,.1f} s" if pd.notna(row.duration_s) else ""
        st.page_link(
            nav.page("detail"),
            query_params={"id": str(row.id)},
            icon=widgets.STATUS_BADGE.get(row.status, ("gray", ":material/help:"))[1],
            label=f"{literal(row.title, limit=70)} · {literal(row.strategy)}/"
            f"{literal(row.fault_spec, limit=30)} · {literal(row.status)}{duration}",
        )


def _form(user_id: uuid.UUID) -> None:
    settings = get_settings()
    with st.container(border=True):
        description = st.text_area(
            "Project description",
            key="gen_description",
            height=110,
            placeholder="An online ordering system for a small bakery: customers order cakes "
            "for pickup, staff manage the daily production list, the owner sees "
            "sales per week.",
        )
        strategy_column, fault_column, speed_column, model_column = st.columns(4)
        strategy = strategy_column.selectbox(
            "Recovery strategy",
            STRATEGIES,
            index=list(STRATEGIES).index(DEFAULT_STRATEGY),
            key="gen_strategy",
            help="\n".join(
                f"- **{name}**: {literal(analysis.describe_strategy(name))}" for name in STRATEGIES
            ),
        )
        profile = fault_column.selectbox(
            "Fault profile",
            [*PROFILES, CUSTOM_FAULTS],
            key="gen_faults",
            help="Faults the simulator injects into its responses (`none` for a clean run).",
        )
        speed = speed_column.number_input(
            "Simulator speed",
            min_value=0.0,
            max_value=MAX_SPEED,
            value=1.0,
            step=1.0,
            key="gen_speed",
            disabled=not settings.uses_embedded_simulator,
            help="×1 streams at a real model's pace, higher is faster, 0 is as fast as "
            "possible. Only the embedded simulator has a speed.",
        )
        model = model_column.text_input("Model", value=settings.model, key="gen_model")
        spec_text = ""
        st.caption(
            f"**{literal(strategy)}**: {literal(analysis.describe_strategy(strategy))}",
            help="The strategy's own description (planner.llm.strategies.REGISTRY).",
        )
        if profile != CUSTOM_FAULTS:
            faults_json = json.dumps(PROFILES[profile]) if PROFILES[profile] else "no faults"
            st.caption(
                f"**{literal(profile)}** injects: {literal(analysis.describe_faults(profile))}",
                help=f"As JSON: {code(faults_json)}",
            )
        else:
            spec_text = st.text_area(
                "Fault spec (JSON list of faults)",
                key="gen_spec",
                placeholder=EXAMPLE_SPEC,
                help="Each fault is an object with a `type`, a `toxicity` (0–1) and its "
                "attributes, units in their names.",
            )
        with st.expander("Advanced"):
            seed = st.number_input(
                "Seed",
                min_value=0,
                value=0,
                step=1,
                key="gen_seed",
                help="The simulator's seed: the same seed, the same plan.",
            )
        if not settings.uses_embedded_simulator:
            st.caption(
                "Using the configured Anthropic endpoint: fault injection applies only "
                "to planner's simulator."
            )
        start = st.button(
            "Start generation", type="primary", icon=":material/play_arrow:", key="gen_start"
        )
    if not start:
        return
    faults = spec_text.strip() if profile == CUSTOM_FAULTS else profile
    if profile == CUSTOM_FAULTS and not faults:
        st.error(
            "Enter a fault spec: a JSON list of faults, for example " + EXAMPLE_SPEC,
            icon=":material/error:",
        )
        return
    request = GenerationRequest(
        description=description,
        user_id=user_id,
        strategy=strategy,
        faults=faults,
        speed=float(speed),
        model=model.strip() or None,
        seed=int(seed),
    )
    problems = request.problems()
    if not problems:
        try:
            generation_id = service().start(request)
        except GenerationRequestError as exc:
            problems = exc.problems
    if problems:
        st.error(
            "The generation cannot start:\n" + "\n".join(f"- {literal(p)}" for p in problems),
            icon=":material/error:",
        )
        return
    st.session_state[FOLLOWING_KEY] = str(generation_id)
    st.query_params[RUN_PARAM] = str(generation_id)
    st.rerun()
