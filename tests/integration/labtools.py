"""Helpers shared by the lab and demo tests."""

from __future__ import annotations

import random
import socket
from pathlib import Path


def free_port_base() -> int:
    for _ in range(50):
        base = random.randrange(20000, 60000, 100)
        try:
            for port in range(base, base + 70):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError("no free port range")


def lab_processes(lab_dir: Path) -> list[int]:
    """Every process on the machine whose command line names this lab directory (zombies included)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if str(lab_dir.resolve()).encode() in cmdline:
                found.append(int(entry.name))
    return found
