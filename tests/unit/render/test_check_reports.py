"""`drill verify` on an unsigned run: edited reports and summary.json are found (they are what the
journal makes), and a head kept elsewhere catches lines cut off the end even with a matching summary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from journal_fixtures import log_text, reference_events, write_lines

from bcdrill.cli.main import main
from bcdrill.render import check_reports, write_reports
from bcdrill.run.notes import add_note


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    (tmp_path / "logs").mkdir()
    events = reference_events()
    for ev in events:
        if ev.get("event") == "step.finished" and ev.get("log"):
            (tmp_path / ev["log"]).write_text(log_text(ev["step"]), encoding="utf-8")
    write_lines(tmp_path / "journal.jsonl", events)
    write_reports(tmp_path, ["json", "md", "html", "junit"], lang="zh")
    return tmp_path


def test_untouched_reports_are_what_the_journal_makes(run_dir: Path) -> None:
    assert check_reports(run_dir) == []


@pytest.mark.parametrize("name", ["summary.json", "report.md", "report.html", "junit.xml"])
def test_an_edited_report_is_found(run_dir: Path, name: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = run_dir / name
    path.write_bytes(path.read_bytes().replace(b"1", b"0", 1))
    assert [n for n, _ in check_reports(run_dir)] == [name]
    assert main(["verify", str(run_dir)]) == 1
    assert f"{name}: ALTERED: differs from what the journal makes" in capsys.readouterr().err


def test_a_kept_head_catches_notes_cut_off_with_a_forged_summary(
    run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add_note(run_dir, text="the DR DNS TTL was too long", kind="finding")
    write_reports(run_dir, ["json", "md", "html", "junit"], lang="zh")
    kept = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))["journal_tail"]
    assert main(["verify", str(run_dir), "--expect-head", kept]) == 0
    # the forger removes the note and makes every file agree again
    lines = (run_dir / "journal.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    (run_dir / "journal.jsonl").write_text("".join(lines[:-1]), encoding="utf-8")
    write_reports(run_dir, ["json", "md", "html", "junit"], lang="zh")
    capsys.readouterr()
    assert main(["verify", str(run_dir)]) == 0  # without an outside anchor this cannot be seen
    assert main(["verify", str(run_dir), "--expect-head", kept]) == 1
    assert "the head you kept" in capsys.readouterr().err


def test_a_run_verifies_moved_unpacked_or_named_otherwise(
    run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The reports name the run directory in their commands; verify re-makes them with that name."""
    moved = tmp_path.parent / f"{tmp_path.name}-moved"
    run_dir.rename(moved)
    assert main(["verify", str(moved)]) == 0, capsys.readouterr().err
    monkeypatch.chdir(moved.parent)
    assert main(["verify", moved.name]) == 0, capsys.readouterr().err
    assert f"drill verify {tmp_path}" in (moved / "report.md").read_text(encoding="utf-8")


def test_a_run_signed_after_its_reports_were_made_verifies(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("cryptography")
    import zipfile

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    private, public = tmp_path.parent / f"{tmp_path.name}.key", tmp_path.parent / f"{tmp_path.name}.pub"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    public.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    )
    bundle = tmp_path.parent / f"{tmp_path.name}.zip"
    assert main(["export", str(run_dir), "-o", str(bundle), "--sign-key", str(private)]) == 0
    assert main(["verify", str(run_dir), "--pubkey", str(public)]) == 0, capsys.readouterr().err
    unpacked = tmp_path.parent / f"{tmp_path.name}-unpacked"
    zipfile.ZipFile(bundle).extractall(unpacked)
    assert main(["verify", str(unpacked), "--pubkey", str(public)]) == 0, capsys.readouterr().err
    assert "summary.json and the reports are what the journal makes" in capsys.readouterr().out


def test_reports_of_another_bcdrill_are_not_compared_and_verify_says_so(
    run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    del summary["report_renderer"]  # as an earlier bcdrill wrote it
    summary["schema_of_an_older_version"] = True
    (run_dir / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    assert main(["verify", str(run_dir)]) == 0
    assert (
        "NOT CHECKED: summary.json and the reports were made by an earlier bcdrill" in capsys.readouterr().out
    )


def test_the_report_shows_the_tail_that_moves_with_every_line(run_dir: Path) -> None:
    add_note(run_dir, text="a finding after the run", kind="finding")
    write_reports(run_dir, ["json", "md", "html"], lang="en")
    tail = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))["journal_tail"]
    last = (run_dir / "journal.jsonl").read_text(encoding="utf-8").splitlines()[-1]
    assert json.loads(last)["hash"] == tail
    assert tail in (run_dir / "report.md").read_text(encoding="utf-8")
    assert tail in (run_dir / "report.html").read_text(encoding="utf-8")
