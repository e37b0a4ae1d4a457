"""Text from a model, a user or a spec, shown as text: the one way the dashboard does it.

Streamlit renders most strings as Markdown (titles, captions, labels of expanders, tabs,
widgets, toasts, alerts), with its own directives on top (`:red[…]`, `:material/x:`,
badges) and GitHub's autolinks. A plan's names and descriptions come from a model, a
description and a model name from a user, a fault spec from anyone: shown raw, a Markdown
image makes the browser fetch an outside URL (a tracking pixel) and a directive recolours
or restyles the page. Every such value goes through `literal()` (escaped Markdown text) or
`code()` (an inline code span whose fence no backtick in the value can close). Values
shown by elements that never parse Markdown (`st.dataframe`, `st.code`, `st.text`, metric
values) need neither.
"""

from __future__ import annotations

import re

# Every ASCII punctuation character may be backslash-escaped in CommonMark; escaping all of
# them also breaks autolinks (`www\.x\.com`), entities (`\&amp;`) and Streamlit directives.
_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029]+")
_BACKTICKS = re.compile(r"`+")
# GitHub's autolinks are found in the text after parsing, so escapes cannot stop them: an
# invisible word joiner (U+2060) breaks the patterns (`http://`, `www.`, `name@host`).
_AUTOLINK_STARTS = re.compile(r"(?i)(:(?=//)|(?<=www)\.|@)")
WORD_JOINER = "\u2060"


def literal(value: object, *, limit: int | None = None) -> str:
    """`value` as Markdown that renders exactly its characters, on one line.

    None is an em dash. With `limit`, longer text is cut and ends in `…`. The only
    characters added are invisible word joiners that keep URLs and addresses from
    becoming links.
    """
    if value is None:
        return "—"
    text = _LINE_BREAKS.sub(" ", str(value))
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    text = _AUTOLINK_STARTS.sub(lambda m: WORD_JOINER + m.group(1), text)
    return _PUNCTUATION.sub(r"\\\1", text)


def code(value: object) -> str:
    """`value` as one inline code span (monospace, nothing inside it is parsed).

    Streamlit replaces `:material/name:` icons even inside code, so a word joiner follows
    every colon.
    """
    text = _LINE_BREAKS.sub(" ", "—" if value is None else str(value))
    text = text.replace(":", ":" + WORD_JOINER)
    fence = "`" * (max((len(run) for run in _BACKTICKS.findall(text)), default=0) + 1)
    padding = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{padding}{text}{padding}{fence}"
