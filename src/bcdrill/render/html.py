"""The HTML report: one self-contained file (inline CSS and SVG, no scripts, no external resources)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from bcdrill.record.events import Record
from bcdrill.render.templates import environment
from bcdrill.render.view import build_view


def render_html(view: dict[str, Any]) -> str:
    return "".join(html_chunks(view))


def html_chunks(view: dict[str, Any]) -> Iterator[str]:
    """The HTML report in pieces, as the template makes them."""
    return environment(autoescape=True).get_template("report.html.j2").generate(view)


def html_report(
    events: Iterable[Record],
    lang: str = "en",
    *,
    run_dir: str | None = None,
    previous: list[list[Record]] | None = None,
) -> str:
    """The HTML report of a journal, with the timeline chart."""
    return render_html(build_view(events, lang, run_dir=run_dir, previous=previous, with_gantt=True))
