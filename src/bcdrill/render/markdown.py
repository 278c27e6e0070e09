"""The Markdown report: deterministic (golden-file tested), every table cell escaped."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from bcdrill.record.events import Record
from bcdrill.render.templates import environment
from bcdrill.render.view import build_view

_BAD = frozenset({"missed", "not-achieved", "unmeasured"})
_NEWLINES = re.compile(r"\r\n|\r|\n")


def cell(value: Any) -> str:
    """A value fit for a Markdown table cell: `-` when empty, `|` escaped, newlines as `<br>`."""
    if value is None or value == "":
        return "-"
    text = str(value).replace("|", "\\|").replace("<", "&lt;")
    return _NEWLINES.sub("<br>", text)


def verdict(value: str, kind: str) -> str:
    """A verdict cell; a breach, a missing recovery or measurement is bold."""
    return f"**{cell(value)}**" if kind in _BAD else cell(value)


def render_markdown(view: dict[str, Any]) -> str:
    return "".join(markdown_chunks(view))


def markdown_chunks(view: dict[str, Any]) -> Iterator[str]:
    """The Markdown report in pieces, as the template makes them."""
    env = environment(autoescape=False)
    env.filters.setdefault("c", cell)
    env.filters.setdefault("v", verdict)
    return env.get_template("report.md.j2").generate(view)


def markdown_report(
    events: Iterable[Record],
    lang: str = "en",
    *,
    run_dir: str | None = None,
    previous: list[list[Record]] | None = None,
) -> str:
    """The Markdown report of a journal: the HTML report's content without the chart."""
    return render_markdown(build_view(events, lang, run_dir=run_dir, previous=previous))
