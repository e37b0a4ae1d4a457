"""Text from a model, a user or a spec renders as exactly its characters (issue 17.1).

Checked with a CommonMark renderer (markdown-it, as Streamlit's remark is CommonMark):
the escaped text makes no image, link, HTML or emphasis, and reads back as the original.
The real browser (tests/test_dashboard_pages_browser.py) checks Streamlit's own
directives and that no outside request is made.
"""

from __future__ import annotations

import html
import re

import pytest
from markdown_it import MarkdownIt

from planner.dashboard.text import WORD_JOINER, code, literal

HOSTILE = [
    "![pixel](http://203.0.113.9/p.png)",
    "[click](http://203.0.113.9/) and <http://203.0.113.9/>",
    "<img src=http://203.0.113.9/i.png> <script>alert(1)</script>",
    ":red[alarm] :material/warning: :blue-badge[x]",
    "**bold** _it_ ~~gone~~ `tick` ``two`` $x^2$",
    "# heading\n- item\n1. numbered\n> quote",
    "&lt;b&gt; &amp; &#60;",
    "back\\slash \\[ at end\\",
    "`",
    "www.example.com https://example.com/x HTTP://X.Y mail me@example.com",
    "a ` b `` c ``` d",
]


def _render(markdown: str) -> str:
    return MarkdownIt("commonmark").render(markdown)


# remark-gfm's autolink literals (mdast-util-gfm-autolink-literal), found in parsed text.
_GFM_URL = re.compile(r"(https?://|www(?=\.))([-.\w]+)", re.IGNORECASE)
_GFM_EMAIL = re.compile(r"([-.\w+]+)@([-\w]+(?:\.[-\w]+)+)")


def _text_of(rendered: str) -> str:
    text = html.unescape(re.sub(r"<[^>]+>", "", rendered)).strip()
    assert not _GFM_URL.search(text) and not _GFM_EMAIL.search(text), text
    return text.replace(WORD_JOINER, "")


@pytest.mark.parametrize("hostile", HOSTILE)
def test_literal_text_renders_as_its_characters_and_nothing_else(hostile: str) -> None:
    rendered = _render(literal(hostile))
    assert re.fullmatch(r"<p>[^<]*</p>\n", rendered), rendered  # one paragraph, no tags
    assert _text_of(rendered) == " ".join(hostile.split("\n")).strip()


@pytest.mark.parametrize("hostile", HOSTILE)
def test_a_code_span_holds_any_text_and_no_backtick_closes_it_early(hostile: str) -> None:
    rendered = _render(f"before {code(hostile)} after")
    match = re.fullmatch(r"<p>before <code>([^<]*)</code> after</p>\n", rendered)
    assert match, rendered
    shown = html.unescape(match.group(1)).replace(WORD_JOINER, "").strip()
    assert shown == " ".join(hostile.split("\n")).strip()


def test_missing_values_are_a_dash_and_long_ones_are_cut() -> None:
    assert literal(None) == "—"
    assert literal("abcdef", limit=4) == "abc…"
    assert _text_of(_render(literal("a.b " * 50, limit=20))) == ("a.b " * 50)[:19] + "…"
