"""Ed25519 signature of a run (`drill export --sign-key`, `drill verify --pubkey`).

Version 2 (written now) signs what an auditor reads, not only the journal: the message is
`bcdrill run v2\n<head>\n` followed by one `<sha256>  <path>` line per file of the run directory
(summary.json, the reports, scenario.yaml, logs, artifacts, ...; sorted by path), so a file changed
after signing — even with SHA256SUMS recomputed to match — fails `drill verify --pubkey`. The
signed file list is kept in journal.sig (`files`). Version 1 (earlier versions) signed the head only
and is still verified as such. A file of the run directory (as `drill export` would pack it) that the
version 2 list does not hold fails verification too ("not signed").

Version 1's signed message was `bcdrill journal head v1\\n<head>` where <head> is the hash of the
journal's last line at signing time. The signature lives in `RUN_DIR/journal.sig` (JSON:
version, algorithm, head, signature (base64), fingerprint (OpenSSH `SHA256:…` of the public
key), public_key (OpenSSH line, for information only: verify with a key you trust), ts).
Keys: an OpenSSH or PEM (PKCS#8) Ed25519 private key without passphrase; a public key as an
OpenSSH `ssh-ed25519 AAAA…` line or PEM. Needs the `cryptography` package (imported lazily).
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bcdrill.common.errors import UsageError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

SIG_NAME = "journal.sig"
MESSAGE_PREFIX = b"bcdrill journal head v1\n"
MESSAGE_PREFIX_V2 = b"bcdrill run v2\n"


def _message_v2(head: str, files: dict[str, str]) -> bytes:
    lines = "".join(f"{digest}  {path}\n" for path, digest in sorted(files.items()))
    return MESSAGE_PREFIX_V2 + head.encode("ascii") + b"\n" + lines.encode("utf-8")


NEED = "signing needs the Python package 'cryptography': pip install cryptography"


def _crypto() -> Any:
    try:
        from cryptography.hazmat.primitives import serialization
    except ImportError:
        raise UsageError(NEED) from None
    return serialization


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read the {what} {path}: {exc.strerror}") from None


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """An Ed25519 private key from an OpenSSH or PEM file (UsageError otherwise)."""
    serialization = _crypto()
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    data = _read(path, "private key")
    try:
        if b"OPENSSH PRIVATE KEY" in data:
            key = serialization.load_ssh_private_key(data, password=None)
        else:
            key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise UsageError(
            f"{path}: not an unencrypted Ed25519 private key ({exc}) — make one with "
            "`ssh-keygen -t ed25519 -N '' -f drill-signing`"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise UsageError(f"{path}: the key is not Ed25519 — make one with `ssh-keygen -t ed25519`")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """An Ed25519 public key from an OpenSSH `ssh-ed25519 AAAA…` line or a PEM file."""
    serialization = _crypto()
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    data = _read(path, "public key").strip()
    try:
        if data.startswith(b"ssh-"):
            key = serialization.load_ssh_public_key(data)
        else:
            key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, IndexError) as exc:
        raise UsageError(f"{path}: not an Ed25519 public key ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise UsageError(f"{path}: the public key is not Ed25519")
    return key


def openssh_line(key: Ed25519PublicKey) -> str:
    serialization = _crypto()
    raw: bytes = key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return raw.decode("ascii")


def fingerprint(key: Ed25519PublicKey) -> str:
    """The key's fingerprint as `ssh-keygen -lf` prints it: `SHA256:<base64, no padding>`."""
    blob = base64.b64decode(openssh_line(key).split()[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode("ascii").rstrip("=")


def sign_head(
    run_dir: Path, head: str, key_path: Path, files: dict[str, str] | None = None
) -> dict[str, Any]:
    """Sign `head` and the digests of `files` (relative path -> SHA-256) with the private key; write and
    return RUN_DIR/journal.sig's content."""
    key = load_private_key(key_path)
    public = key.public_key()
    files = dict(files or {})
    record = {
        "version": 2,
        "algorithm": "ed25519",
        "head": head,
        "files": files,
        "signature": base64.b64encode(key.sign(_message_v2(head, files))).decode("ascii"),
        "fingerprint": fingerprint(public),
        "public_key": openssh_line(public),
        "ts": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }
    path = run_dir / SIG_NAME
    tmp = path.with_name(f".{SIG_NAME}.tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return record


def _read_sig(run_dir: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((run_dir / SIG_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def verify_head_signature(run_dir: Path, head: str | None, pubkey: Path) -> tuple[bool, str]:
    """(ok, detail): RUN_DIR/journal.sig is a valid signature of `head` by `pubkey`."""
    from cryptography.exceptions import InvalidSignature

    key = load_public_key(pubkey)
    sig = _read_sig(run_dir)
    if sig is None:
        return False, f"{run_dir / SIG_NAME} is missing or unreadable: the journal head was not signed"
    if not head or sig.get("head") != head:
        signed = str(sig.get("head") or "")[:12]
        return False, f"{SIG_NAME} signs head {signed}…, not the journal's head {(head or '')[:12]}…"
    files = sig.get("files") if sig.get("version") == 2 else None
    if isinstance(files, dict):
        changed = _changed_files(run_dir, files) + _unsigned_files(run_dir, files)
        if changed:
            return (
                False,
                f"signed, but changed since: {', '.join(changed)} (the signature covers their digests)",
            )
        message = _message_v2(head, {str(k): str(v) for k, v in files.items()})
    else:
        message = MESSAGE_PREFIX + head.encode("ascii")
    try:
        key.verify(base64.b64decode(str(sig.get("signature", ""))), message)
    except (InvalidSignature, ValueError):
        return False, f"the signature in {SIG_NAME} was not made by the key {pubkey} ({fingerprint(key)})"
    what = f"head and {len(files)} files" if isinstance(files, dict) else "head"
    return True, f"{what} signed by {fingerprint(key)} at {sig.get('ts')}"


def _unsigned_files(run_dir: Path, files: dict[str, Any]) -> list[str]:
    """Files an auditor would read in the run directory or bundle that the signature does not cover
    (added after signing: a forged report beside the signed ones)."""
    from bcdrill.record.digests import bundle_files

    present = (p.relative_to(run_dir).as_posix() for p in bundle_files(run_dir) if p.name != SIG_NAME)
    return [f"{rel} (not signed)" for rel in present if rel not in files]


def _changed_files(run_dir: Path, files: dict[str, Any]) -> list[str]:
    from bcdrill.record.digests import file_sha256

    changed = []
    for rel, digest in sorted(files.items()):
        path = run_dir / rel
        if not path.is_file():
            changed.append(f"{rel} (missing)")
        elif file_sha256(path) != digest:
            changed.append(rel)
    return changed
