"""Reports: pure functions of the journal events (DESIGN.md §7; templates in reports/).

`render(events, fmt, lang)` returns one report as text (PDF: bytes); `write_reports(run_dir,
formats)` reads `RUN_DIR/journal.jsonl` (and the journals of `previous` run directories) and
writes the files atomically.

Layer rule: render reads only the journal (and scenario snapshot in it), through record/ and verdicts/;
it must not import run/, executors/, listeners/ or cli/.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from types import EllipsisType
from typing import Any

from bcdrill.common.errors import UsageError
from bcdrill.common.gcpause import no_gc
from bcdrill.common.jsonfmt import iter_readable, load_head
from bcdrill.record.events import Record
from bcdrill.render.annex import FROM_FILE, Shown
from bcdrill.render.i18n import labels
from bcdrill.render.output import same_content, write_atomic
from bcdrill.verdicts.fold import Folded, fold, folded
from bcdrill.verdicts.rto import Evaluation
from bcdrill.verdicts.timeline import StepRun

FILENAMES = {
    "html": "report.html",
    "md": "report.md",
    "json": "summary.json",
    "junit": "junit.xml",
    "pdf": "report.pdf",
}
FORMATS = tuple(FILENAMES)
DEFAULT_FORMATS = ("html", "md", "json", "junit")


class Analysis:
    """What every format of one journal needs, computed once however many formats are written.
    `events`: the journal's records, or them folded (`verdicts.fold`: what a big run is read as)."""

    def __init__(
        self,
        events: Iterable[Record] | Folded,
        lang: str,
        *,
        run_dir: str | None = None,
        previous: list[list[Record]] | None = None,
    ) -> None:
        labels(lang)  # an unknown language is a UsageError, whatever the format
        self.journal, self.lang, self.run_dir, self.previous = folded(events), lang, run_dir, previous
        self.previous_dirs: tuple[str, ...] = ()  # the run directories `previous` was read from
        self.shown_dir: str | None = None  # the run directory as commands in the reports name it
        self.shown_signature: Shown = FROM_FILE  # the signature the reports show (default: journal.sig's)

    @functools.cached_property
    def signature(self) -> dict[str, Any] | None:
        """What the reports show of the run's signature (recorded in summary.json)."""
        from bcdrill.render.annex import signature

        if isinstance(self.shown_signature, EllipsisType):
            return signature(Path(self.run_dir) if self.run_dir else None)
        return self.shown_signature

    @property
    def runs(self) -> list[StepRun]:
        return self.journal.runs

    @functools.cached_property
    def evaluation(self) -> Evaluation:
        from bcdrill.verdicts.rto import evaluate

        return evaluate(self.journal.records)

    @functools.cached_property
    def view(self) -> dict[str, Any]:
        """The Markdown and HTML reports' content (with the chart, which Markdown ignores)."""
        from bcdrill.render.view import build_view

        return build_view(
            self.journal,
            self.lang,
            evaluation=self.evaluation,
            runs=self.runs,
            run_dir=self.run_dir,
            previous=self.previous,
            with_gantt=True,
            shown_dir=self.shown_dir,
            signature=self.signature,
        )

    def json_report(self) -> dict[str, Any]:
        """summary.json's object plus `timeline`: every step with its attempts and confirmations."""
        report = self._json_head()
        report["timeline"] = [_step_json(run) for run in self.runs]
        return report

    def _json_head(self) -> dict[str, Any]:
        from bcdrill.verdicts.summary import build_summary

        report = build_summary(self.journal, evaluation=self.evaluation, runs=self.runs)
        report["report_lang"] = self.lang  # `drill note` re-renders the reports in the same language
        report["report_previous"] = list(self.previous_dirs)  # `drill verify` re-renders them alike
        report["report_renderer"] = renderer_id()  # `drill verify` re-renders only with the same code
        report["report_run_dir"] = self.shown_dir or self.run_dir  # as the reports' commands name it
        report["report_signature"] = self.signature  # as the reports show it (made before signing: null)
        return report

    def render(self, fmt: str) -> str | bytes:
        """One report whole: text, or bytes for pdf."""
        if fmt == "pdf":
            from bcdrill.render.html import render_html
            from bcdrill.render.pdf import html_to_pdf

            return html_to_pdf(render_html(self.view))
        return "".join(str(chunk) for chunk in self.chunks(fmt))

    def chunks(self, fmt: str) -> Iterator[str | bytes]:
        """One report in pieces as it is made (pdf: one piece, its bytes), never held whole."""
        if fmt == "json":
            report = self._json_head()
            report["timeline"] = (_step_json(run) for run in self.runs)
            return iter_readable(report)
        if fmt == "md":
            from bcdrill.render.markdown import markdown_chunks

            return markdown_chunks(self.view)
        if fmt == "html":
            from bcdrill.render.html import html_chunks

            return html_chunks(self.view)
        if fmt == "junit":
            from bcdrill.render.junit import junit_report

            return iter((junit_report(self.journal, self.lang, evaluation=self.evaluation, runs=self.runs),))
        if fmt == "pdf":
            return iter((self.render("pdf"),))
        raise UsageError(f"unknown report format {fmt!r}; choose from: {', '.join(FORMATS)}")


def json_report(events: Iterable[Record]) -> dict[str, Any]:
    """summary.json's object plus `timeline`: every step with its attempts and confirmations."""
    return Analysis(events, "en").json_report()


def _step_json(run: StepRun) -> dict[str, Any]:
    data = {k: v for k, v in vars(run).items() if k not in ("attempts", "acks")}
    data["systems"] = list(run.systems)
    data.update(started=run.started_ts, finished=run.finished_ts, duration=run.duration)
    data["attempts"] = [vars(a).copy() for a in run.attempts]
    data["acks"] = [vars(a).copy() for a in run.acks]
    return data


def render(
    events: Iterable[Record],
    fmt: str,
    lang: str = "en",
    *,
    run_dir: str | None = None,
    previous: list[list[Record]] | None = None,
) -> str | bytes:
    """One report of `events`: md | html | json | junit as text, pdf as bytes (needs Chromium).
    `previous`: journals of earlier drills, for their corrective actions and the RTO/RPO trend."""
    return Analysis(events, lang, run_dir=run_dir, previous=previous).render(fmt)


def _targets(run_dir: Path, formats: Sequence[str], output: Path | None) -> dict[str, Path]:
    """Where each format goes: RUN_DIR, or `output` (a directory when it is one or when several
    formats are asked for, else the file to write)."""
    if output is None:
        return {fmt: run_dir / FILENAMES[fmt] for fmt in formats}
    if output.is_dir() or len(formats) > 1:
        return {fmt: output / FILENAMES[fmt] for fmt in formats}
    return {formats[0]: output}


def _read_previous(paths: Sequence[Path]) -> list[list[Record]]:
    from bcdrill.common.errors import RunDirError
    from bcdrill.record.journal import JOURNAL_NAME, iter_journal

    journals = []
    for path in paths:
        journal = path / JOURNAL_NAME if path.is_dir() else path
        if not journal.is_file():
            raise RunDirError(
                f"--previous {path}: no {JOURNAL_NAME} there — give an earlier drill's run directory"
            )
        journals.append(fold(iter_journal(journal)).records)  # what the reports read of an earlier drill
    return journals


def write_reports(
    run_dir: Path,
    formats: Sequence[str] = DEFAULT_FORMATS,
    lang: str = "en",
    output: Path | None = None,
    previous: Sequence[Path] = (),
    journal: Folded | None = None,
) -> list[Path]:
    """Read RUN_DIR/journal.jsonl and write the reports; returns the paths written.

    Files: report.html, report.md, summary.json (fmt json), junit.xml, report.pdf. `previous`:
    earlier drills' run directories. RunDirError when a journal is missing or garbled;
    UsageError for an unknown format or language, or a PDF without Chromium.
    """
    from bcdrill.record.journal import JOURNAL_NAME, iter_journal

    formats = list(dict.fromkeys(formats))
    for fmt in formats:
        if fmt not in FORMATS:
            raise UsageError(f"unknown report format {fmt!r}; choose from: {', '.join(FORMATS)}")
    labels(lang)
    if "pdf" in formats:
        from bcdrill.render.pdf import INSTALL_HINT, find_chromium

        if find_chromium() is None:
            raise UsageError(INSTALL_HINT)
    if journal is None:  # the caller may pass the journal it already folded
        journal = fold(iter_journal(run_dir / JOURNAL_NAME))
    analysis = Analysis(journal, lang, run_dir=str(run_dir), previous=_read_previous(previous))
    analysis.previous_dirs = tuple(str(Path(p).absolute()) for p in previous)
    written = []
    with no_gc():
        for fmt, path in _targets(run_dir, formats, output).items():
            write_atomic(path, analysis.chunks(fmt))
            written.append(path)
    return written


def write_missing_reports(run_dir: Path) -> None:
    """Render the default reports a run directory lacks (an interrupted or copied run)."""
    missing = [fmt for fmt in DEFAULT_FORMATS if not (run_dir / FILENAMES[fmt]).exists()]
    if missing:
        write_reports(run_dir, missing)


def refresh_reports(run_dir: Path) -> None:
    """Re-render the reports a run directory has (after a note was journaled), in the language they
    were made in, so that they show the note and summary.json covers it."""
    present = [fmt for fmt, name in FILENAMES.items() if fmt != "pdf" and (run_dir / name).exists()]
    lang = "en"
    with contextlib.suppress(OSError, ValueError, AttributeError):
        lang = str(load_head(run_dir / "summary.json", "timeline").get("report_lang") or "en")
    write_reports(run_dir, present or ["json"], lang=lang)


@functools.lru_cache(maxsize=1)
def renderer_id() -> str:
    """bcdrill's version and a digest of the code and templates that make the reports from a journal
    (common, record, verdicts, render): reports are re-made byte for byte only by the same ones."""
    import hashlib

    from bcdrill import __version__
    from bcdrill.render.templates import templates_dir

    package = Path(__file__).resolve().parent.parent
    files = [p for name in ("common", "record", "verdicts", "render") for p in (package / name).rglob("*.py")]
    files += [p for p in templates_dir().iterdir() if p.is_file()]
    digest = hashlib.sha256()
    for path in sorted(files, key=lambda p: (p.parent.name, p.name)):
        digest.update(f"{path.parent.name}/{path.name}\0".encode())
        digest.update(path.read_bytes())
    return f"{__version__}+{digest.hexdigest()[:12]}"


def not_comparable(run_dir: Path) -> str | None:
    """Why the reports of `run_dir` cannot be re-made to compare them (None: they can).

    They can when summary.json says they were made by this very renderer (`report_renderer`); a run
    made by another bcdrill (or before the field existed) is not compared: its summary.json is still
    checked against the journal's tail (journal_tail, journal_lines) by `verify_journal`."""
    if not (run_dir / FILENAMES["json"]).is_file():
        return None
    made = _made_with(run_dir).get("report_renderer")
    if made == renderer_id():
        return None
    by = f"by bcdrill {made}" if isinstance(made, str) else "by an earlier bcdrill (no report_renderer)"
    return (
        f"summary.json and the reports were made {by}, this is {renderer_id()}: they cannot be re-made "
        "byte for byte, so their content was not compared with the journal — re-make them with "
        "`drill report RUN_DIR`, or check them against a signed bundle"
    )


def _made_with(run_dir: Path) -> dict[str, Any]:
    """What summary.json records the reports were made with: report_lang, report_previous,
    report_run_dir, report_signature (older runs: the first two or none)."""
    with contextlib.suppress(OSError, ValueError):
        summary = load_head(run_dir / FILENAMES["json"], "timeline")  # not the timeline of every step
        if isinstance(summary, dict):
            return summary
    return {}


def check_reports(run_dir: Path) -> list[tuple[str, str]]:
    """The reports of a run that differ from a re-rendering of its journal: (file, why).

    Reports are a pure function of the journal (in the language and with the earlier drills they were
    made with, which summary.json records: also the run directory their commands name and the
    signature they show), so an edit of summary.json, report.md, report.html or junit.xml after the
    run is found without any signature, and a run moved, unpacked from its bundle or signed after
    its reports were made still verifies."""
    from bcdrill.record.journal import JOURNAL_NAME, iter_journal

    present = {fmt: run_dir / FILENAMES[fmt] for fmt in ("json", "md", "html", "junit")}
    present = {fmt: path for fmt, path in present.items() if path.is_file()}
    if not present or not_comparable(run_dir):
        return []
    made = _made_with(run_dir)
    listed = made.get("report_previous")
    previous = [Path(p) for p in listed if isinstance(p, str)] if isinstance(listed, list) else []
    missing = [p for p in previous if not (p / JOURNAL_NAME).is_file()]
    lang = made.get("report_lang") if made.get("report_lang") in ("en", "zh") else "en"
    analysis = Analysis(
        fold(iter_journal(run_dir / JOURNAL_NAME)),
        str(lang),
        run_dir=str(run_dir),
        previous=_read_previous([p for p in previous if p not in missing]),
    )
    analysis.previous_dirs = tuple(str(p) for p in previous)
    if isinstance(made.get("report_run_dir"), str):  # moved, copied, unpacked or named otherwise since
        analysis.shown_dir = made["report_run_dir"]
    if "report_signature" in made:  # signed after the reports were made, or not
        signed = made["report_signature"]
        analysis.shown_signature = signed if isinstance(signed, dict) else None
    problems = []
    with no_gc():
        for fmt, path in present.items():
            if fmt in ("md", "html") and missing:
                continue  # made with an earlier drill that is not here: cannot be re-made
            if not same_content(path, analysis.chunks(fmt)):
                problems.append(
                    (path.name, "differs from what the journal makes (edited after it was written)")
                )
    return problems
