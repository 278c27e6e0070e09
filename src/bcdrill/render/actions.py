"""Findings and corrective actions (PDCA), their status, and RTO/RPO trends across drills.

Convention (docs/report.md): every `action` note is a corrective action numbered `A-1`, `A-2`, …
and every `finding` note `F-1`, … in journal order (the note's own `id` is accepted too). A later
note with `closes: A-2` (`drill note RUN_DIR --closes A-2 --text ...`) closes it; a note in a
later drill closes an earlier drill's action with `--closes <run id>:A-2`. An action that is not
closed is `overdue` when its due date (YYYY-MM-DD) is before the reference date — for this drill
the date of its last journal line, for a previous drill's actions this drill's start date —
else `open`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from bcdrill.record.events import NOTE, Note, Record, first_run_started
from bcdrill.render.clock import Clock, dur
from bcdrill.verdicts.rto import evaluate

PREFIX = {"action": "A", "finding": "F"}


@dataclass(frozen=True)
class Item:
    id: str
    note_id: str | None
    kind: str
    text: str
    owner: str | None
    due: str | None
    by: str | None
    ts: str
    status: str  # open | closed | overdue (findings: recorded)
    closed_by: str | None = None
    closed_ts: str | None = None


def _due_date(text: str | None) -> date | None:
    try:
        return date.fromisoformat((text or "")[:10])
    except ValueError:
        return None


def _closings(events: list[Record]) -> dict[str, Note]:
    """Closing notes by the id they close (the first closing note wins)."""
    found: dict[str, Note] = {}
    for ev in events:
        if ev["event"] == NOTE and ev.get("closes"):
            found.setdefault(str(ev.get("closes")).strip(), ev)
    return found


def collect_items(
    events: list[Record], reference: date | None, extra_closings: Mapping[str, Note] = {}
) -> list[Item]:
    """Findings and actions of one journal with their status on `reference` (see module doc)."""
    closings = {**_closings(events), **extra_closings}
    counters = dict.fromkeys(PREFIX, 0)
    items = []
    for ev in events:
        if ev["event"] != NOTE:
            continue
        kind = ev.get("kind")
        if kind is None or kind not in PREFIX:
            continue
        counters[kind] += 1
        item_id = f"{PREFIX[kind]}-{counters[kind]}"
        note_id = ev.get("id")
        closing = closings.get(item_id) or (closings.get(note_id) if note_id else None)
        due = _due_date(ev.get("due"))
        status = "closed" if closing else "overdue" if due and reference and due < reference else "open"
        items.append(
            Item(
                id=item_id,
                note_id=ev.get("id"),
                kind=kind,
                text=ev.get("text") or "",
                owner=ev.get("owner"),
                due=ev.get("due"),
                by=ev.get("by"),
                ts=ev["ts"],
                status=status if kind == "action" else "recorded",
                closed_by=closing.get("text") if closing else None,
                closed_ts=closing.get("ts") if closing else None,
            )
        )
    return items


def item_rows(items: list[Item], clock: Clock, L: Mapping[str, str]) -> list[dict[str, Any]]:
    return [
        {
            "id": it.id,
            "kind": L[it.kind],
            "text": it.text,
            "owner": it.owner,
            "due": it.due,
            "by": it.by,
            "when": clock.full(it.ts),
            "status": L["a_" + it.status],
            "status_class": it.status,
            "closed_by": it.closed_by,
            "closed_when": clock.full(it.closed_ts),
        }
        for it in items
    ]


def _start(events: list[Record]) -> Mapping[str, Any]:
    return first_run_started(events) or {}


def previous_actions(
    current: list[Record], previous: list[list[Record]], clock: Clock, L: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Each previous drill's corrective actions with their status at this drill's start."""
    reference = clock.start.date() if clock.start else None
    closings = _closings(current)
    out = []
    for events in previous:
        start = _start(events)
        run_id = str(start.get("run_id") or "")
        mine = {key.split(":", 1)[1]: ev for key, ev in closings.items() if key.startswith(run_id + ":")}
        items = [it for it in collect_items(events, reference, mine) if it.kind == "action"]
        snap = start.get("snapshot") or {}
        out.append(
            {
                "run_id": run_id,
                "title": snap.get("title") or start.get("scenario"),
                "started": clock.full(start.get("ts")),
                "actions": item_rows(items, clock, L),
            }
        )
    return out


def _cell(result: Any) -> dict[str, Any]:
    if result is None:
        return {"rto": None, "rpo": None, "rto_class": "none", "rpo_class": "none"}
    return {
        "rto": dur(result.rto_achieved),
        "rpo": dur(result.rpo_achieved),
        "rto_class": result.rto_status,
        "rpo_class": result.rpo_status,
    }


def trend(current: list[Record], previous: list[list[Record]], clock: Clock) -> dict[str, Any]:
    """RTO/RPO achieved per system: the previous drills (oldest first), then this one."""
    runs = [*sorted(previous, key=lambda evs: str(_start(evs).get("ts") or "")), current]
    evaluations = [evaluate(evs) for evs in runs]
    columns = [
        {"run_id": _start(evs).get("run_id"), "date": (clock.full(_start(evs).get("ts")) or "")[:10]}
        for evs in runs
    ]
    rows = []
    for sid, result in evaluations[-1].systems.items():
        cells = [_cell(ev.systems.get(sid)) for ev in evaluations]
        rows.append(
            {
                "id": sid,
                "title": result.title,
                "rto_target": dur(result.rto_target),
                "rpo_target": dur(result.rpo_target),
                "cells": cells,
            }
        )
    return {"columns": columns, "rows": rows}
