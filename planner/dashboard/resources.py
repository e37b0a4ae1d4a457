"""What every session of one dashboard process shares: its Database, generation service
and login throttle.

Streamlit keeps them with `st.cache_resource`, keyed by the database URL, so every page of
every session passes the same `Database` to the library, and generations started in any
session run on one bounded pool whose events go out on the process's bus (where
`shell.prepare` attaches the Socket.IO publisher: the core attaches no front end).
"""

from __future__ import annotations

import streamlit as st

from planner import jobs
from planner.config import get_settings
from planner.db import Database
from planner.events import default_bus
from planner.plan import GenerationService
from planner.throttle import LoginThrottle, SignupThrottle


@st.cache_resource(show_spinner=False)
def _database(url: str) -> Database:
    return Database(url)


@st.cache_resource(show_spinner=False)
def _service(url: str) -> GenerationService:
    db = _database(url)
    # PostgreSQL: the Generate page enqueues jobs for `planner worker`s.
    enqueue = jobs.enqueuer(db) if jobs.uses_jobs(db) else None
    return GenerationService(db, bus=default_bus(), sweep=True, enqueue=enqueue)


def database() -> Database:
    """The configured database, one handle per process and URL."""
    return _database(get_settings().database_url)


def service() -> GenerationService:
    """The process's generation service on the configured database."""
    return _service(get_settings().database_url)


@st.cache_resource(show_spinner=False)
def _login_throttle(url: str) -> LoginThrottle:
    return LoginThrottle(_database(url))


@st.cache_resource(show_spinner=False)
def _signup_throttle(url: str) -> SignupThrottle:
    return SignupThrottle(_database(url))


def login_throttle() -> LoginThrottle:
    """The login limits (per account and per client), kept in the database: shared by every
    session and every dashboard process on it."""
    return _login_throttle(get_settings().database_url)


def signup_throttle() -> SignupThrottle:
    """The sign-up limit per client, kept in the database like the login limits."""
    return _signup_throttle(get_settings().database_url)
