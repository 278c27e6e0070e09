"""`check: {python: "checks/module.py:function", args: {...}}`: call a Python function.

The module is loaded from its file under a name unique to that path (re-loaded on every call, so an
edited check is picked up by the next attempt) and `function(**args)` is called. If the function has
a `timeout` parameter that `args` does not set, it receives the seconds left before the deadline.

The call runs in a daemon thread and the probe waits for it until the deadline or cancel. A thread
cannot be killed: a check that overruns is abandoned (it keeps running in the background until it
returns; being a daemon thread it never blocks the runner's exit), and the probe returns timeout.
Checks should therefore bound their own I/O with the `timeout` they are given.

Results: True/False → ok/failed; a mapping → `ok` (bool, required), `detail`, `observed` (mapping),
`data_timestamp` (ISO-8601 text, Unix epoch or datetime, for RPO); an exception → failed with
"ExcType: message"; anything else → failed.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import sys
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from bcdrill.executors.base import Outcome, StepContext
from bcdrill.scenario.model import PythonProbe

_POLL = 0.25  # seconds between cancel checks while waiting for the function


def probe_python(probe: PythonProbe, ctx: StepContext) -> Outcome:
    where = f"{Path(probe.path).name}:{probe.function}"
    try:
        function = _load_function(probe)
    except Exception as exc:
        return Outcome("failed", f"cannot load {probe.path}:{probe.function}: {type(exc).__name__}: {exc}")
    args = dict(probe.args)
    if ctx.remaining() is not None and "timeout" not in args and _accepts(function, "timeout"):
        args["timeout"] = ctx.remaining()
    box: dict[str, Any] = {}
    worker = threading.Thread(target=_call, args=(function, args, box), name=f"check {where}", daemon=True)
    worker.start()
    while not box:
        if ctx.cancel.is_set():
            return Outcome("cancelled", f"{where} was abandoned (the run was cancelled)")
        if ctx.expired():
            return Outcome("timeout", f"{where} did not return before the deadline; it was abandoned")
        worker.join(_POLL if ctx.remaining() is None else min(_POLL, ctx.remaining() or 0.0))
    if "error" in box:
        error = box["error"]
        return Outcome("failed", f"{where} raised {type(error).__name__}: {error}")
    return result_outcome(where, box["value"], ctx)


def result_outcome(where: str, value: Any, ctx: StepContext) -> Outcome:
    """Turn a check's return value into an Outcome (bool or mapping; anything else is a failure)."""
    if isinstance(value, bool):
        return Outcome("ok" if value else "failed", f"{where} returned {value}")
    if not isinstance(value, Mapping):
        return Outcome(
            "failed", f"{where} returned {type(value).__name__}; expected a bool or a mapping with ok"
        )
    ok = value.get("ok")
    if not isinstance(ok, bool):
        return Outcome("failed", f"{where} returned a mapping whose 'ok' is {ok!r}; expected true or false")
    detail = str(value.get("detail") or f"{where} returned ok={ok}")
    observed = value.get("observed") or {}
    if not isinstance(observed, Mapping):
        return Outcome(
            "failed", f"{where} returned 'observed' of type {type(observed).__name__}; expected a mapping"
        )
    stamp = value.get("data_timestamp")
    if isinstance(stamp, datetime):
        stamp = stamp.isoformat()
    if stamp is not None and (isinstance(stamp, bool) or not isinstance(stamp, (str, int, float))):
        return Outcome(
            "failed", f"{where} returned data_timestamp {stamp!r}; expected ISO-8601 text or epoch"
        )
    ctx.log.write(f"{where}: ok={ok} {detail}\n")
    return Outcome("ok" if ok else "failed", detail, observed=dict(observed), data_timestamp=stamp)


def _load_function(probe: PythonProbe) -> Callable[..., Any]:
    module = _load_module(probe.path)
    function = getattr(module, probe.function, None)
    if not callable(function):
        raise AttributeError(f"{Path(probe.path).name} has no function {probe.function!r}")
    return function  # type: ignore[no-any-return]


def _load_module(path: str) -> ModuleType:
    digest = hashlib.sha256(path.encode()).hexdigest()[:12]
    name = f"bcdrill_check_{Path(path).stem}_{digest}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"{path} is not a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look their module up here
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def _accepts(function: Callable[..., Any], name: str) -> bool:
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False
    return name in parameters


def _call(function: Callable[..., Any], args: dict[str, Any], box: dict[str, Any]) -> None:
    try:
        box["value"] = function(**args)
    except BaseException as exc:  # reported as the check's failure
        box["error"] = exc
