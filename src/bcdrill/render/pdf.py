"""PDF through headless Chromium: print the self-contained HTML report (A4, print CSS)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from bcdrill.common.errors import UsageError

TIMEOUT = 120.0  # seconds for one PDF
_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
INSTALL_HINT = "PDF needs Chromium: apt-get install chromium (or set BCDRILL_CHROMIUM=/path/to/chrome)"


def find_chromium() -> str | None:
    """$BCDRILL_CHROMIUM, /usr/bin/chromium, or the first Chromium/Chrome on PATH."""
    explicit = os.environ.get("BCDRILL_CHROMIUM")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    if os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium"
    return next((found for name in _CANDIDATES if (found := shutil.which(name))), None)


def chromium_command(chromium: str, profile: Path, *extra: str) -> list[str]:
    """A headless Chromium that touches neither the network nor the user's profile."""
    return [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        f"--user-data-dir={profile}",
        *extra,
    ]


def _run(command: list[str], out: Path) -> None:
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise UsageError(f"Chromium did not finish the PDF within {TIMEOUT:.0f}s: {command[0]}") from None
    except OSError as exc:
        raise UsageError(f"cannot run Chromium ({command[0]}): {exc} — {INSTALL_HINT}") from None
    if proc.returncode != 0 or not out.is_file() or out.stat().st_size == 0:
        tail = (proc.stderr or proc.stdout or "").strip().splitlines()[-3:]
        raise UsageError(f"Chromium failed to print the PDF (exit {proc.returncode}): {' | '.join(tail)}")


def html_to_pdf(html: str) -> bytes:
    """The PDF of an HTML document, printed by headless Chromium (UsageError when there is none)."""
    chromium = find_chromium()
    if chromium is None:
        raise UsageError(INSTALL_HINT)
    with tempfile.TemporaryDirectory(prefix="bcdrill-pdf-") as tmp:
        page, out = Path(tmp) / "report.html", Path(tmp) / "report.pdf"
        page.write_text(html, encoding="utf-8")
        extra = ("--no-pdf-header-footer", f"--print-to-pdf={out}", page.as_uri())
        _run(chromium_command(chromium, Path(tmp) / "profile", *extra), out)
        return out.read_bytes()
