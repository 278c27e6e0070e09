"""./dev's font check is exact and survives pipefail: a grep that stops reading early made fc-list die of
SIGPIPE (exit 141 under `set -o pipefail`), so an installed font counted as missing and a non-root user
was told "need root"."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

DEV = Path(__file__).resolve().parent.parent / "dev"


def _has_font(tmp_path: Path, listing: str) -> int:
    """Exit status of ./dev's has_font "noto sans cjk" with a stand-in fc-list printing `listing`."""
    fake = tmp_path / "bin"
    fake.mkdir()
    (tmp_path / "listing").write_text(listing)
    fc_list = fake / "fc-list"
    fc_list.write_text(f"#!/bin/sh\nexec cat {tmp_path / 'listing'}\n")
    fc_list.chmod(0o755)
    function = subprocess.run(
        ["sed", "-n", "/^has_font()/,/^}/p", str(DEV)], capture_output=True, text=True, check=True
    ).stdout
    assert function, "./dev defines has_font"
    script = f'set -euo pipefail\n{function}\nhas_font "noto sans cjk"\n'
    env = {**os.environ, "PATH": f"{fake}:{os.environ['PATH']}"}
    return subprocess.run(["bash", "-c", script], env=env, timeout=60).returncode


def test_a_font_listed_first_in_a_long_listing_is_found(tmp_path: Path) -> None:
    listing = "Noto Sans CJK SC\n" + "DejaVu Sans\n" * 200_000  # far more than a pipe buffer
    assert _has_font(tmp_path, listing) == 0


@pytest.mark.parametrize("listing", ["", "DejaVu Sans\nNoto Sans\n" * 1000])
def test_a_missing_font_is_missing(tmp_path: Path, listing: str) -> None:
    assert _has_font(tmp_path, listing) != 0
