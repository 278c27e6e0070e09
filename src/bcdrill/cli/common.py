"""What the command modules share: exit codes, --var (and BCDRILL_VAR_*) parsing, warnings."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bcdrill.common.errors import UsageError

EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_ABORTED, EXIT_BUG = 0, 1, 2, 3, 70

Command = Callable[[argparse.Namespace], int]


VAR_ENV_PREFIX = "BCDRILL_VAR_"


def parse_vars(pairs: Sequence[str] | None, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The template variables of the command line: each environment variable BCDRILL_VAR_NAME gives NAME
    (a secret given so stays out of the process list and the shell history), then each --var NAME=VALUE
    (it wins over the environment)."""
    env = os.environ if environ is None else environ
    out = {k[len(VAR_ENV_PREFIX) :]: v for k, v in env.items() if k.startswith(VAR_ENV_PREFIX)}
    out.pop("", None)
    for number, pair in enumerate(pairs or (), start=1):
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise UsageError(  # what was given may be a secret typed without its name: never echoed
                f"--var number {number} ({len(pair)} characters, not shown): expected NAME=VALUE — "
                "e.g. --var dr_site=dr.example.internal"
            )
        out[name.strip()] = value
    return out


def warning(text: str) -> None:
    print(f"drill: warning: {text}", file=sys.stderr)


def with_warnings(scn: Any, strict: bool = False) -> Any:
    """Print the scenario's warnings; with `--strict` they are errors (UsageError, exit 2)."""
    for text in scn.warnings:
        warning(text)
    if strict and scn.warnings:
        raise UsageError(f"--strict: {len(scn.warnings)} warning(s) above count as errors — nothing was run")
    return scn
