"""Executors, one small module per action kind, looked up by name.

Entries are "module:function" strings imported on first use, so `drill --help`
stays fast and optional dependencies (paramiko, ansible-runner) are only
imported by scenarios that use them.

Layer rule: executors run one rendered action and return an Outcome; they must not import record/,
run/, verdicts/, render/, listeners/ or cli/ (what they need of the run comes in the StepContext).
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterable
from typing import cast

from bcdrill.executors.base import Executor
from bcdrill.scenario.model import CheckAction, Step

EXECUTORS: dict[str, str] = {
    "run": "bcdrill.executors.local:run_local",
    "check": "bcdrill.executors.check:run_check",
    "wait": "bcdrill.executors.wait:run_wait",
    "manual": "bcdrill.executors.manual:run_manual",
    "ssh": "bcdrill.executors.ssh:run_ssh",
    "ansible": "bcdrill.executors.ansible:run_ansible",
}


def load_entry(entry: str) -> object:
    module, _, name = entry.partition(":")
    return getattr(importlib.import_module(module), name)


def get_executor(kind: str) -> Executor:
    return cast(Executor, load_entry(EXECUTORS[kind]))


def preload(steps: Iterable[Step]) -> None:
    """Import the executors and probes these steps use before the run starts, so that no step's
    measured duration includes a module import."""
    from bcdrill.executors.probes import PROBES

    entries = {EXECUTORS[s.kind] for s in steps}
    entries |= {PROBES[s.action.probe.probe] for s in steps if isinstance(s.action, CheckAction)}
    for entry in entries:
        with contextlib.suppress(ImportError):  # a missing dependency fails its steps, visibly, later
            load_entry(entry)
