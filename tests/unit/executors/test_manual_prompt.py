"""The terminal prompt of a manual step never shows a secret its text was rendered with."""

from __future__ import annotations

import io
import os
import threading
import time
from pathlib import Path

from bcdrill.executors.base import EventList, Resources, RunOptions, StepContext
from bcdrill.executors.manual import _prompt
from bcdrill.scenario.model import ManualAction, Pos, Scenario, Step

TOKEN = "Tok\"Dq\\Bs-ö9'x$y"


class Log:
    def write(self, text: str) -> None:
        pass


def test_the_prompt_is_masked(tmp_path: Path) -> None:
    action = ManualAction(prompt=f"log in with {TOKEN} and confirm")
    scenario = Scenario(
        path="/t.yaml", sha256="0" * 64, version=1, name="t", title="t", environment="lab", secrets=(TOKEN,)
    )
    ctx = StepContext(
        step=Step(id="confirm", action=action, pos=Pos("t.yaml", 1, 1)),
        scenario=scenario,
        run_dir=tmp_path,
        attempt=1,
        deadline=time.monotonic() + 10,
        cancel=threading.Event(),
        log=Log(),
        emit=EventList(),
        options=RunOptions(),
        resources=Resources(),
    )
    read, write = os.pipe()
    os.write(write, b"p\nLi Si\n\n")
    os.close(write)
    out = io.StringIO()
    with os.fdopen(read, encoding="utf-8") as answers:
        outcome = _prompt(action, ctx, answers, out)
    assert outcome.status == "ok", outcome
    assert "[confirm] log in with *** and confirm" in out.getvalue()
    assert "Tok" not in out.getvalue() and "Bs-" not in out.getvalue()
