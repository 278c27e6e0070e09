"""The timeline picture: a server-side SVG Gantt chart (no JavaScript needed to read it).

One row per step grouped by phase: the expected duration (`expect`, drawn from the step's actual
start, or from its planned start when it never ran; cut at the chart's end with ▸) above the
actual bar (first attempt's start to last attempt's end, coloured by status, failed
attempts marked ✕), T0 and every RTO target within the axis drawn as vertical lines, each system's
recovery marked ◆ on the row of the step that recovered it. The axis covers what actually
happened (run start → last actual end, plus a small margin), not the planned span: long
`expect`s of manual steps would otherwise squeeze the real bars into slivers. Step labels wrap
to two lines (at " / " between a bilingual title's halves when there is one). The rows are cut into charts of
ROWS_PER_CHART so that each prints on one A4 page; a run of more than MAX_STEP_ROWS steps is
drawn one bar per phase (with a note saying so).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from bcdrill.record.events import FAILED_STATUSES
from bcdrill.render.clock import Clock, dur
from bcdrill.verdicts.rto import Evaluation
from bcdrill.verdicts.timeline import RunningStatus, ShownStatus, StepRun

WIDTH, LABEL_W, RIGHT = 1000, 400, 16
ROW_H, HEAD_H = 24, 36
ROWS_PER_CHART = 45
MAX_STEP_ROWS = 400
LABEL_CHARS = 62  # display width of one label line (a CJK character counts 2)
MARGIN = 0.04  # of the actual span, after the last actual end
_TICKS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)


@dataclass(frozen=True)
class Row:
    label: str
    label2: str = ""  # the label's second line
    tooltip: str = ""
    group: bool = False
    start: float | None = None
    end: float | None = None
    status: ShownStatus = "not_run"
    planned: tuple[float, float] | None = None
    fails: tuple[float, ...] = ()
    marks: tuple[str, ...] = ()  # systems recovered by this step
    segments: tuple[tuple[float, float, RunningStatus], ...] = ()  # one bar per attempt: (start, end, status)


def clip(text: str, width: int = LABEL_CHARS) -> str:
    out: list[str] = []
    used = 0
    for ch in text:
        used += 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        if used > width:
            return "".join(out) + "…"
        out.append(ch)
    return text


def width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def wrap(text: str, line: int = LABEL_CHARS) -> tuple[str, str]:
    """At most two lines of display width `line`: split at " / " (a bilingual title) when both
    halves fit, else at the last space that fits (anywhere for CJK); the rest is clipped with …."""
    text = " ".join(text.split())
    if width(text) <= line:
        return text, ""
    if " / " in text:
        first, _, rest = text.partition(" / ")
        if width(first) <= line:
            return first + " /", clip(rest, line)
    used, cut, space = 0, len(text), -1
    for i, ch in enumerate(text):
        used += 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        if used > line:
            cut = i
            break
        if ch == " ":
            space = i
    if space > cut // 2:
        return text[:space], clip(text[space + 1 :], line)
    return text[:cut], clip(text[cut:], line)


def _step_row(run: StepRun, planned: tuple[float, float] | None, marks: tuple[str, ...]) -> Row:
    starts = [a.started_t for a in run.attempts if a.started_t is not None]
    ends = [a.finished_t for a in run.attempts if a.finished_t is not None]
    fails = tuple(
        a.finished_t for a in run.attempts if a.status in FAILED_STATUSES and a.finished_t is not None
    )
    tip = f"{run.title} [{run.id}] {run.status or 'not run'} {dur(run.duration) or ''}".strip()
    start = min(starts) if starts else None
    expected: tuple[float, float] | None = None
    if planned is not None and planned[1] > planned[0]:
        begin = planned[0] if start is None else start
        expected = (begin, begin + planned[1] - planned[0])
    first, second = wrap(run.title)
    segments = tuple(
        (
            a.started_t,
            a.finished_t if a.finished_t is not None else a.started_t,
            a.status or run.status or "running",
        )
        for a in run.attempts
        if a.started_t is not None
    )
    return Row(
        segments=segments,
        label=first,
        label2=second,
        tooltip=tip,
        start=start,
        end=max(ends) if ends else (max(starts) if starts else None),
        status=run.status or "not_run",
        planned=expected,
        fails=fails,
        marks=marks,
    )


def _phase_row(phase: str, runs: list[StepRun], L: Mapping[str, str]) -> Row:
    starts = [a.started_t for r in runs for a in r.attempts if a.started_t is not None]
    ends = [a.finished_t for r in runs for a in r.attempts if a.finished_t is not None]
    failed = sum(1 for r in runs if r.status in FAILED_STATUSES)
    status: ShownStatus = "failed" if failed else "ok" if all(r.status == "ok" for r in runs) else "skipped"
    label = f"{phase} ({len(runs)} {L['g_steps']}, {failed} {L['s_failed']})"
    first, second = wrap(label)
    return Row(
        first, second, label, start=min(starts, default=None), end=max(ends, default=None), status=status
    )


def build_rows(
    runs: list[StepRun], plan: Mapping[str, tuple[float, float]], evaluation: Evaluation, L: Mapping[str, str]
) -> tuple[list[Row], bool]:
    """(rows, aggregated): group headers and step rows, or one row per phase for huge runs."""
    groups: dict[str, list[StepRun]] = {}
    for run in runs:
        groups.setdefault(L["rollback"] if run.rollback else run.phase or "—", []).append(run)
    if len(runs) > MAX_STEP_ROWS:
        return [_phase_row(name, members, L) for name, members in groups.items()], True
    marks: dict[str, list[str]] = {}
    for sid, s in evaluation.systems.items():
        if s.recovered_by and s.rto_achieved is not None:
            marks.setdefault(s.recovered_by, []).append(sid)
    rows = []
    for name, members in groups.items():
        rows.append(Row(clip(name, 110), tooltip=name, group=True))
        rows.extend(_step_row(r, plan.get(r.id), tuple(marks.get(r.id, ()))) for r in members)
    return rows, False


def _tick(span: float) -> float:
    return next((t for t in _TICKS if span / t <= 10), _TICKS[-1] * max(1, int(span / _TICKS[-1] / 10) + 1))


@dataclass(frozen=True)
class Scale:
    lo: float
    hi: float

    def x(self, t: float) -> float:
        return round(LABEL_W + (t - self.lo) / (self.hi - self.lo) * (WIDTH - LABEL_W - RIGHT), 1)


def _lines(
    evaluation: Evaluation, hi: float, L: Mapping[str, str]
) -> tuple[list[tuple[float, str, str]], list[str]]:
    """Vertical lines (t, label, class) — T0 and RTO targets — and the targets beyond the chart."""
    if evaluation.t0 is None:
        return [], []
    lines, beyond = [(evaluation.t0, "T0", "t0")], []
    for sid, s in evaluation.systems.items():
        if s.rto_target is None:
            continue
        at = evaluation.t0 + s.rto_target
        if at <= hi:
            lines.append((at, f"RTO {sid}", "target"))
        else:
            beyond.append(f"{s.title}: T0 + {dur(s.rto_target)}")
    return lines, beyond


def time_range(rows: list[Row], evaluation: Evaluation) -> tuple[float, float]:
    """The axis: run start (or earlier actual times) → last actual end, plus MARGIN. Planned
    times only count when nothing ran at all."""
    actual = [p for r in rows for p in (r.start, r.end) if p is not None]
    if evaluation.t0 is not None:
        actual.append(evaluation.t0)
    points = [0.0, *actual]
    if not [p for r in rows for p in (r.start, r.end) if p is not None]:
        points += [p for r in rows if r.planned for p in r.planned]
    lo, hi = min(points), max(points)
    hi = max(hi, lo + 1.0)
    return lo, hi + (hi - lo) * MARGIN


def _axis(scale: Scale, clock: Clock, height: float) -> list[str]:
    step = _tick(scale.hi - scale.lo)
    first = (scale.lo // step) * step
    out = []
    t = first
    while t <= scale.hi + 1e-9:
        if t >= scale.lo - 1e-9:
            x = scale.x(t)
            label = clock.at(t) or dur(t) or ""
            if step >= 60 and label.endswith(":00"):
                label = label[:-3]
            out.append(f'<line class="grid" x1="{x}" y1="{HEAD_H - 6}" x2="{x}" y2="{height}"/>')
            out.append(
                f'<text class="tick" x="{x}" y="{HEAD_H - 10}" text-anchor="middle">{escape(label)}</text>'
            )
        t += step
    return out


def _row_svg(row: Row, y: float, scale: Scale) -> list[str]:
    mid = y + ROW_H / 2
    tip = f"<title>{escape(row.tooltip)}</title>" if row.tooltip else ""
    if row.group:
        return [f'<text class="group" x="4" y="{mid + 4}">{escape(row.label)}{tip}</text>']
    if row.label2:
        label = f'<text class="label" x="{LABEL_W - 6}" y="{mid - 1.5}" text-anchor="end">'
        second = f'<tspan x="{LABEL_W - 6}" dy="11.5">{escape(row.label2)}</tspan>'
    else:
        label = f'<text class="label" x="{LABEL_W - 6}" y="{mid + 4}" text-anchor="end">'
        second = ""
    out = [f"{label}{escape(row.label)}{second}{tip}</text>"]
    if row.planned is not None:
        x1 = scale.x(min(row.planned[0], scale.hi))
        x2 = scale.x(min(row.planned[1], scale.hi))
        out.append(f'<rect class="bar planned" x="{x1}" y="{y + 2}" width="{max(x2 - x1, 1.5)}" height="4"/>')
        if row.planned[1] > scale.hi:
            out.append(f'<text class="more" x="{x2 + 1}" y="{y + 7}">▸</text>')
    bars = row.segments or (
        ((row.start, row.end, row.status),) if row.start is not None and row.end is not None else ()
    )
    for start, end, status in bars:  # one bar per attempt: a gap between attempts is drawn as a gap
        x1, x2 = scale.x(start), scale.x(end)
        out.append(
            f'<rect class="bar actual {escape(status)}" x="{x1}" y="{y + 7}" '
            f'width="{max(x2 - x1, 2.0)}" height="{ROW_H - 9}">{tip}</rect>'
        )
    for t in row.fails:
        out.append(f'<text class="fail" x="{scale.x(t)}" y="{y + ROW_H - 2}" text-anchor="middle">✕</text>')
    if row.marks and row.end is not None:
        x = scale.x(row.end)
        out.append(f'<path class="recovered" d="M{x} {y + 3}l5 6l-5 6l-5 -6z"/>')
        left = x > WIDTH - 160  # near the right edge: label on the left of the mark
        anchor = f'x="{x - 8}" text-anchor="end"' if left else f'x="{x + 8}"'
        out.append(f'<text class="mark" {anchor} y="{mid + 4}">{escape(", ".join(row.marks))}</text>')
    return out


def _chart(
    rows: list[Row],
    scale: Scale,
    lines: list[tuple[float, str, str]],
    clock: Clock,
    title: str,
    gaps: Sequence[tuple[float, float, str]] = (),
) -> str:
    height = HEAD_H + len(rows) * ROW_H + 6
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="gantt" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    parts += _axis(scale, clock, height)
    for i, row in enumerate(rows):
        y = HEAD_H + i * ROW_H
        if i % 2 and not row.group:
            parts.append(f'<rect class="stripe" x="0" y="{y}" width="{WIDTH}" height="{ROW_H}"/>')
        parts += _row_svg(row, y, scale)
    for start, end, label in gaps:  # the run was stopped: nothing ran in between
        x1, x2 = scale.x(start), scale.x(end)
        parts.append(
            f'<rect class="gap" x="{x1}" y="{HEAD_H - 4}" width="{max(x2 - x1, 1.0)}" height="{height}"/>'
        )
        parts.append(f'<text class="gap-label" x="{x1 + 2}" y="{HEAD_H - 6}">{escape(label)}</text>')
    for t, label, cls in lines:
        x = scale.x(t)
        parts.append(f'<line class="{cls}" x1="{x}" y1="{HEAD_H - 4}" x2="{x}" y2="{height}"/>')
        parts.append(f'<text class="{cls}-label" x="{x + 3}" y="{HEAD_H + 10}">{escape(label)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def gantt(
    runs: list[StepRun],
    plan: Mapping[str, tuple[float, float]],
    evaluation: Evaluation,
    clock: Clock,
    L: Mapping[str, str],
    gaps: Sequence[tuple[float, float]] = (),
) -> dict[str, Any]:
    """{charts: [svg, ...], aggregated, beyond: [targets past the chart's end], bars: n}. `gaps`: spans in
    which the run was stopped (shaded)."""
    rows, aggregated = build_rows(runs, plan, evaluation, L)
    if not rows:
        return {"charts": [], "aggregated": False, "beyond": [], "bars": 0}
    lo, hi = time_range(rows, evaluation)
    lines, beyond = _lines(evaluation, hi, L)
    scale = Scale(lo, hi)
    per_chart = -(-len(rows) // -(-len(rows) // ROWS_PER_CHART))  # balanced: no tiny last chart
    charts = [
        _chart(
            rows[i : i + per_chart],
            scale,
            lines,
            clock,
            f"{L['gantt']} {i // per_chart + 1}",
            [(a, b, L["gap_label"]) for a, b in gaps if b > a],
        )
        for i in range(0, len(rows), per_chart)
    ]
    bars = sum(1 for r in rows if not r.group and r.start is not None)
    return {"charts": charts, "aggregated": aggregated, "beyond": beyond, "bars": bars, "rows": len(rows)}
