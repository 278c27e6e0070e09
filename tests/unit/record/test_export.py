"""The evidence bundle (`drill export`) and the Ed25519 signature of the journal head."""

from __future__ import annotations

import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from journal_fixtures import SCENARIO_TEXT, log_text, reference_events, write_lines

from bcdrill.common.errors import RunDirError, UsageError
from bcdrill.record.export import export_bundle
from bcdrill.record.verify import verify_run
from bcdrill.render import write_missing_reports, write_reports
from bcdrill.run.notes import add_note

pytest.importorskip("cryptography")


def _keys(tmp_path: Path, name: str) -> tuple[Path, Path]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    private, public = tmp_path / name, tmp_path / f"{name}.pub"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    public.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    )
    return private, public


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    run = tmp_path / "run"
    (run / "logs").mkdir(parents=True)
    (run / "artifacts" / "isolate-1").mkdir(parents=True)
    (run / "artifacts" / "isolate-1" / "stdout").write_text("PLAY RECAP\n", encoding="utf-8")
    events = reference_events()
    for ev in events:
        if ev.get("event") == "step.finished" and ev.get("log"):
            (run / ev["log"]).write_text(log_text(ev["step"]), encoding="utf-8")
    write_lines(run / "journal.jsonl", events)
    (run / "scenario.yaml").write_text(SCENARIO_TEXT, encoding="utf-8")
    (run / ".lock").write_text("", encoding="utf-8")
    write_reports(run)
    return run


def _extract(bundle: Path, where: Path) -> Path:
    with zipfile.ZipFile(bundle) as zf:
        zf.extractall(where)
    return where


def _sha256sum_c(directory: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sha256sum", "-c", "SHA256SUMS"], cwd=directory, capture_output=True, text=True, check=False
    )


def test_bundle_checks_by_hand_and_with_drill_verify(run_dir: Path, tmp_path: Path) -> None:
    bundle = tmp_path / "drill-2026.zip"
    assert "SHA256SUMS" in export_bundle(run_dir, bundle, prepare=write_missing_reports)
    names = zipfile.ZipFile(bundle).namelist()
    for name in ("journal.jsonl", "scenario.yaml", "summary.json", "report.html", "report.md", "junit.xml"):
        assert name in names
    assert "logs/isolate.log" in names and "artifacts/isolate-1/stdout" in names
    assert ".lock" not in names and "VERIFY.txt" in names
    out = _extract(bundle, tmp_path / "x")
    check = _sha256sum_c(out)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "journal.jsonl: OK" in check.stdout and "VERIFY.txt: OK" in check.stdout
    ok, message = verify_run(out)
    assert ok, message


def test_tampered_bundle_is_detected(run_dir: Path, tmp_path: Path) -> None:
    bundle = tmp_path / "b.zip"
    export_bundle(run_dir, bundle, prepare=write_missing_reports)
    out = _extract(bundle, tmp_path / "x")
    (out / "logs" / "isolate.log").write_text("nothing happened\n", encoding="utf-8")
    check = _sha256sum_c(out)
    assert check.returncode != 0 and "logs/isolate.log: FAILED" in check.stdout
    journal = out / "journal.jsonl"
    lines = journal.read_text(encoding="utf-8").splitlines(keepends=True)
    number = next(i for i, line in enumerate(lines) if '"status":"ok"' in line)
    lines[number] = lines[number].replace('"status":"ok"', '"status":"failed"', 1)
    journal.write_text("".join(lines), encoding="utf-8")
    ok, message = verify_run(out)
    assert not ok and f"journal.jsonl:{number + 1}: ALTERED" in message
    with pytest.raises(RunDirError, match="refusing to export"):
        export_bundle(out, tmp_path / "again.zip")


def test_signature_good_wrong_key_and_altered_head(run_dir: Path, tmp_path: Path) -> None:
    key, pub = _keys(tmp_path, "signer")
    _, other = _keys(tmp_path, "other")
    assert "signed by SHA256:" in export_bundle(run_dir, tmp_path / "s.zip", sign_key=key)
    out = _extract(tmp_path / "s.zip", tmp_path / "x")
    sig = json.loads((out / "journal.sig").read_text(encoding="utf-8"))
    assert sig["algorithm"] == "ed25519" and sig["fingerprint"].startswith("SHA256:")
    ok, message = verify_run(out, pubkey=pub)
    assert ok and "head and 15 files signed by" in message
    ok, message = verify_run(out, pubkey=other)
    assert not ok and "was not made by the key" in message
    add_note(out, text="added after signing", kind="observation")  # a new head, in the bundle
    ok, message = verify_run(out, pubkey=pub)
    assert not ok and "journal.jsonl: ALTERED: differs from SHA256SUMS" in message
    assert (run_dir / "journal.sig").is_file()
    add_note(run_dir, text="added after signing", kind="observation")  # a new head, no SHA256SUMS
    ok, message = verify_run(run_dir, pubkey=pub)
    assert not ok and "not the journal's head" in message


def test_signature_with_openssh_keys(run_dir: Path, tmp_path: Path) -> None:
    if shutil.which("ssh-keygen") is None:
        pytest.skip("ssh-keygen is not installed")
    key = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    export_bundle(run_dir, tmp_path / "s.zip", sign_key=key)
    fingerprint = subprocess.run(
        ["ssh-keygen", "-lf", f"{key}.pub"], capture_output=True, text=True, check=True
    ).stdout.split()[1]
    assert json.loads((run_dir / "journal.sig").read_text())["fingerprint"] == fingerprint
    assert verify_run(run_dir, pubkey=Path(f"{key}.pub"))[0]


def test_bad_keys_and_outputs_are_usage_errors(run_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.key"
    bad.write_text("not a key\n", encoding="utf-8")
    with pytest.raises(UsageError, match="not an unencrypted Ed25519 private key"):
        export_bundle(run_dir, tmp_path / "b.zip", sign_key=bad)
    with pytest.raises(UsageError, match="not an Ed25519 public key"):
        verify_run(run_dir, pubkey=bad)
    with pytest.raises(UsageError, match=r"\.zip"):
        export_bundle(run_dir, tmp_path / "b.tar")
    with pytest.raises(UsageError, match="outside the run directory"):
        export_bundle(run_dir, run_dir / "b.zip")


def test_the_signature_covers_what_an_auditor_reads(run_dir: Path, tmp_path: Path) -> None:
    """Editing summary.json (or a report) in a signed bundle and recomputing SHA256SUMS still fails."""
    import hashlib

    key, pub = _keys(tmp_path, "signer")
    export_bundle(run_dir, tmp_path / "s.zip", sign_key=key, prepare=write_missing_reports)
    out = _extract(tmp_path / "s.zip", tmp_path / "x")
    summary = out / "summary.json"
    summary.write_text(
        summary.read_text(encoding="utf-8").replace('"failed"', '"complete"'), encoding="utf-8"
    )
    report = out / "report.md"
    report.write_text(report.read_text(encoding="utf-8") + "\nAll targets met.\n", encoding="utf-8")
    sums = out / "SHA256SUMS"
    lines = []
    for line in sums.read_text(encoding="utf-8").splitlines():  # the forger recomputes the sums too
        _digest, rel = line.split("  ", 1)
        lines.append(f"{hashlib.sha256((out / rel).read_bytes()).hexdigest()}  {rel}")
    sums.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert _sha256sum_c(out).returncode == 0  # the forged sums check out
    ok, message = verify_run(out, pubkey=pub)
    assert not ok and "changed since: report.md, summary.json" in message, message


def test_a_file_added_to_a_signed_bundle_is_not_signed(run_dir: Path, tmp_path: Path) -> None:
    """A forged report put beside the signed ones, with SHA256SUMS recomputed, fails verify --pubkey."""
    import hashlib

    key, pub = _keys(tmp_path, "signer")
    export_bundle(run_dir, tmp_path / "s.zip", sign_key=key, prepare=write_missing_reports)
    out = _extract(tmp_path / "s.zip", tmp_path / "x")
    assert verify_run(out, pubkey=pub)[0]
    forged = out / "report-final.md"
    forged.write_text("# All RTO targets met\n", encoding="utf-8")
    with (out / "SHA256SUMS").open("a", encoding="utf-8") as sums:
        sums.write(f"{hashlib.sha256(forged.read_bytes()).hexdigest()}  report-final.md\n")
    assert _sha256sum_c(out).returncode == 0
    ok, message = verify_run(out, pubkey=pub)
    assert not ok and "report-final.md (not signed)" in message, message
