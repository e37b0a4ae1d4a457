"""The page registry: every page's title, icon and URL, built the same way on every run.

Each page is a two-line script `pages/<url_path>.py` that calls `render()` of its
module, so a page's code is imported only when it runs and `AppTest.switch_page` can
reach it by path. Building a `st.Page` from the registry anywhere (navigation,
`switch_page`, `page_link`) gives the same page: Streamlit identifies pages by URL path.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import streamlit as st
from streamlit.navigation.page import StreamlitPage


@dataclass(frozen=True)
class PageSpec:
    module: str
    title: str
    icon: str
    url_path: str
    default: bool = False


PAGES_DIR = Path(__file__).resolve().parent / "pages"
PAGES: dict[str, PageSpec] = {
    "login": PageSpec("login", "Log in", ":material/login:", "login", default=True),
    "generate": PageSpec("generate", "Generate", ":material/play_circle:", "generate", True),
    "history": PageSpec("history", "History", ":material/history:", "history"),
    "detail": PageSpec("detail", "Generation detail", ":material/account_tree:", "detail"),
    "compare": PageSpec("compare", "Compare", ":material/compare_arrows:", "compare"),
    "stats": PageSpec("stats", "Fallback statistics", ":material/monitoring:", "statistics"),
    "experiments": PageSpec("experiments", "Experiments", ":material/science:", "experiments"),
}


def experiments_available() -> bool:
    """The Experiments page needs `planner.experiments` (built by its own issue)."""
    return importlib.util.find_spec("planner.experiments") is not None


def page_script(key: str) -> Path:
    return PAGES_DIR / f"{PAGES[key].url_path}.py"


def page(key: str) -> StreamlitPage:
    spec = PAGES[key]
    return st.Page(
        page_script(key),
        title=spec.title,
        icon=spec.icon,
        url_path=spec.url_path,
        default=spec.default,
    )


def navigation(logged_in: bool) -> StreamlitPage:
    """The login page alone, or the tool's pages grouped for the sidebar."""
    if not logged_in:
        return st.navigation([page("login")], position="hidden")
    study = [page("history"), page("detail"), page("compare"), page("stats")]
    if experiments_available():
        study.append(page("experiments"))
    return st.navigation({"Run": [page("generate")], "Study": study})
