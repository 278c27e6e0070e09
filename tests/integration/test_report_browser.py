"""The drill report in a real headless Chromium: a realistic three-system drill is run through the
CLI, its Chinese and English reports are rendered to HTML, screenshot and PDF (`drill report
--format pdf`), and the results are checked as files. The screenshots are kept under
$BCDRILL_SHOTS (default: the test's tmp dir) for a person to look at. In CI (CI=true) a missing
Chromium fails the test instead of skipping it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bcdrill.render.pdf import chromium_command, find_chromium

SCENARIO = Path(__file__).parent / "scenarios" / "report-drill.yaml"


def drill(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bcdrill.cli", *args], capture_output=True, text=True, timeout=300, check=False
    )


@pytest.fixture(scope="module")
def chromium() -> str:
    found = find_chromium()
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium is required in CI: apt-get install chromium")
        pytest.skip("Chromium is not installed")
    return found


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("report") / "run"
    result = drill("run", str(SCENARIO), "--auto-ack", "--run-dir", str(run), "--parallel", "4")
    assert result.returncode == 1, result.stderr  # mail is not recovered, on purpose
    notes = [
        ("finding", "邮件服务在灾备端未能启动 / mail did not start at DR", ["--owner", "tech"]),
        (
            "action",
            "修复邮件灾备实例启动脚本 / fix the mail standby start script",
            ["--owner", "tech", "--due", "2026-12-31"],
        ),
        (
            "evaluation",
            "核心系统达标；邮件未恢复，需专项复演。/ Core systems met their targets; mail needs a re-drill.",
            [],
        ),
    ]
    for kind, text, extra in notes:
        assert drill("note", str(run), "--kind", kind, "--text", text, "--by", "郑十", *extra).returncode == 0
    return run


def _shots(tmp_path: Path) -> Path:
    where = Path(os.environ.get("BCDRILL_SHOTS") or tmp_path)
    where.mkdir(parents=True, exist_ok=True)
    return where


def _pages(pdf: Path) -> int:
    if shutil.which("pdfinfo"):
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
        return int(re.search(r"Pages:\s+(\d+)", info).group(1))  # type: ignore[union-attr]
    return len(re.findall(rb"/Type\s*/Page[^s]", pdf.read_bytes()))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_report_renders_in_chromium(lang: str, run_dir: Path, chromium: str, tmp_path: Path) -> None:
    shots = _shots(tmp_path)
    html, pdf = shots / f"report.{lang}.html", shots / f"report.{lang}.pdf"
    for fmt, out in (("html", html), ("pdf", pdf)):
        result = drill("report", str(run_dir), "--lang", lang, "--format", fmt, "-o", str(out))
        assert result.returncode == 0, result.stderr
    text = html.read_text(encoding="utf-8")
    assert (
        text.count("<section id=") == 11 and '<svg xmlns="http://www.w3.org/2000/svg" class="gantt"' in text
    )
    assert ("签字确认" if lang == "zh" else "Sign-offs") in text
    png = shots / f"report.{lang}.png"
    command = chromium_command(
        chromium,
        tmp_path / "profile",
        "--hide-scrollbars",
        f"--screenshot={png}",
        "--window-size=1280,4000",
        html.as_uri(),
    )
    subprocess.run(command, capture_output=True, timeout=120, check=True)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 100_000
    assert pdf.read_bytes()[:5] == b"%PDF-" and _pages(pdf) >= 2
    if shutil.which("pdftotext"):
        words = subprocess.run(
            ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout
        assert ("十一、附件与完整性" if lang == "zh" else "11. Annexes and integrity") in words
        assert "个险核心系统" in words  # CJK glyphs are embedded, not tofu


def test_pdf_without_chromium_says_how_to_install(run_dir: Path, tmp_path: Path) -> None:
    env = {**os.environ, "BCDRILL_CHROMIUM": str(tmp_path / "no-chrome")}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bcdrill.cli",
            "report",
            str(run_dir),
            "--format",
            "pdf",
            "-o",
            str(tmp_path / "r.pdf"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "PDF needs Chromium: apt-get install chromium (or set BCDRILL_CHROMIUM=" in result.stderr


def test_exported_bundle_verifies_after_extraction(run_dir: Path, tmp_path: Path) -> None:
    if shutil.which("ssh-keygen") is None:
        pytest.skip("ssh-keygen is not installed")
    key = tmp_path / "signing"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    bundle = tmp_path / "drill-2026.zip"
    assert drill("export", str(run_dir), "-o", str(bundle), "--sign-key", str(key)).returncode == 0
    out = tmp_path / "x"
    subprocess.run(["unzip", "-q", str(bundle), "-d", str(out)], check=True)
    assert subprocess.run(["sha256sum", "-c", "--quiet", "SHA256SUMS"], cwd=out, check=False).returncode == 0
    result = drill("verify", str(out), "--pubkey", f"{key}.pub")
    assert result.returncode == 0 and "files signed by SHA256:" in result.stdout
    (out / "journal.jsonl").write_text((out / "journal.jsonl").read_text(encoding="utf-8")[:-30] + "\n")
    assert drill("verify", str(out), "--pubkey", f"{key}.pub").returncode == 1
