"""JUnit XML: a testcase per step, per RTO target and per RPO target (for CI dashboards).

Step `ok` passes; `failed` is a <failure>; `timeout`, `cancelled` and `interrupted` are an
<error>; `skipped` and steps that never ran are <skipped>. An RTO/RPO target that is missed,
not achieved or unmeasured is a <failure>. Text is stripped of characters XML 1.0 forbids.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from typing import Any

from bcdrill.common.duration import format_duration
from bcdrill.record.events import Record, StepStatus
from bcdrill.render.i18n import labels
from bcdrill.verdicts.fold import Folded, folded
from bcdrill.verdicts.rto import Evaluation, SystemResult, evaluate
from bcdrill.verdicts.summary import build_summary
from bcdrill.verdicts.timeline import ShownStatus, StepRun

_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ERRORS: tuple[StepStatus, ...] = ("timeout", "cancelled", "interrupted")


def _text(value: Any) -> str:
    return _XML_BAD.sub("\ufffd", "" if value is None else str(value))


def _case(suite: ET.Element, classname: str, name: str, seconds: float | None) -> ET.Element:
    return ET.SubElement(
        suite, "testcase", classname=_text(classname), name=_text(name), time=f"{seconds or 0:.3f}"
    )


def _step_case(suite: ET.Element, scenario: str, run: StepRun, L: dict[str, str]) -> str:
    name = run.id if run.title == run.id else f"{run.id}: {run.title}"
    case = _case(suite, f"{scenario}.{'rollback' if run.rollback else 'steps'}", name, run.duration)
    status: ShownStatus = run.status or "not_run"
    message = f"{L.get('s_' + status, status)}" + (f": {run.detail}" if run.detail else "")
    if status == "failed":
        ET.SubElement(case, "failure", message=_text(message), type="failed").text = _text(run.detail)
        return "failures"
    if status in _ERRORS or status == "running":
        ET.SubElement(case, "error", message=_text(message), type=status).text = _text(run.detail)
        return "errors"
    if status in ("skipped", "not_run"):
        ET.SubElement(case, "skipped", message=_text(message))
        return "skipped"
    if run.log:
        ET.SubElement(case, "system-out").text = _text(f"log: {run.log} sha256: {run.log_sha256}")
    return "passed"


def _target_case(suite: ET.Element, scenario: str, s: SystemResult, which: str, L: dict[str, str]) -> str:
    target = getattr(s, f"{which}_target")
    achieved = getattr(s, f"{which}_achieved")
    status = s.rto_status if which == "rto" else s.rpo_status
    case = _case(suite, f"{scenario}.{which}", f"{which.upper()} {s.id}: {s.title}", achieved)
    text = (
        f"{which.upper()} {L['v_' + status]}: {L[which + '_achieved']} {format_duration(achieved)}, "
        f"{L[which + '_target']} {format_duration(target)}"
    )
    if status in ("met", "no-target"):
        ET.SubElement(case, "system-out").text = _text(text)
        return "passed"
    ET.SubElement(case, "failure", message=_text(text), type=status)
    return "failures"


def junit_report(
    events: Iterable[Record] | Folded,
    lang: str = "en",
    *,
    evaluation: Evaluation | None = None,
    runs: list[StepRun] | None = None,
) -> str:
    """The JUnit XML document (UTF-8 declared) of a journal."""
    L = dict(labels(lang))
    journal = folded(events)
    evaluation = evaluation or evaluate(journal.records)
    runs = journal.runs if runs is None else runs
    summary = build_summary(journal, evaluation=evaluation, runs=runs)
    scenario = summary["scenario"] or "drill"
    mark = " [DRY RUN]" if summary["dry_run"] else ""  # nothing was changed: never mistake it for a drill
    root = ET.Element("testsuites", name=_text(f"{summary['title'] or scenario}{mark}"))
    suite = ET.SubElement(root, "testsuite", name=_text(scenario + mark), timestamp=_text(summary["started"]))
    counts = {"passed": 0, "failures": 0, "errors": 0, "skipped": 0}
    for run in runs:
        counts[_step_case(suite, scenario, run, L)] += 1
    for s in evaluation.systems.values():
        for which in ("rto", "rpo"):
            if getattr(s, f"{which}_target") is not None:
                counts[_target_case(suite, scenario, s, which, L)] += 1
    total_time = journal.max_t
    attrs = {k: str(counts[k]) for k in ("failures", "errors", "skipped")}
    attrs.update(tests=str(sum(counts.values())), time=f"{total_time:.3f}")
    for element in (root, suite):
        element.attrib.update(attrs)
    if summary["run_id"]:
        props = ET.Element("properties")
        suite.insert(0, props)
        for key in ("run_id", "environment", "status", "dry_run", "journal_head"):
            ET.SubElement(props, "property", name=key, value=_text(summary[key]))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
