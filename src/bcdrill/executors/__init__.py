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
from typing import Any

from bcdrill.executors.base import Executor
from bcdrill.scenario.model import CheckAction, Step

EXECUTORS: dict[str, str] = {  # action kind -> the module whose `EXECUTOR: Executor[Action]` runs it
    "run": "bcdrill.executors.local",
    "check": "bcdrill.executors.check",
    "wait": "bcdrill.executors.wait",
    "manual": "bcdrill.executors.manual",
    "ssh": "bcdrill.executors.ssh",
    "ansible": "bcdrill.executors.ansible",
    "awx": "bcdrill.executors.awx",
}


def load_entry(entry: str) -> object:
    module, _, name = entry.partition(":")
    return getattr(importlib.import_module(module), name)


def get_executor(kind: str) -> Executor[Any]:
    """The executor of an action kind (its module is imported on first use)."""
    executor: Executor[Any] = importlib.import_module(EXECUTORS[kind]).EXECUTOR
    return executor


def preload(steps: Iterable[Step]) -> None:
    """Import the executors and probes these steps use before the run starts, so that no step's
    measured duration includes a module import."""
    from bcdrill.executors.probes import PROBES

    for kind in {s.kind for s in steps}:
        with contextlib.suppress(ImportError):  # a missing dependency fails its steps, visibly, later
            get_executor(kind)
    for entry in {PROBES[s.action.probe.probe] for s in steps if isinstance(s.action, CheckAction)}:
        with contextlib.suppress(ImportError):
            load_entry(entry)
