"""A malformed --var is refused without echoing it: it may be a secret typed without its name."""

from __future__ import annotations

import pytest

from bcdrill.cli.common import parse_vars
from bcdrill.common.errors import UsageError


@pytest.mark.parametrize("given", ["=Tok\"Dq\\Bs-ö9'x$y", "Tok\"Dq\\Bs-ö9'x$y", " =hunter2-secret"])
def test_a_malformed_var_is_refused_without_its_text(given: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_vars(["site=dr", given])
    message = str(info.value)
    assert "--var number 2" in message and "expected NAME=VALUE" in message
    assert "Tok" not in message and "hunter2" not in message and "Bs-" not in message


def test_well_formed_vars() -> None:
    assert parse_vars(["a=1", "b==2", " c =x y"], {}) == {"a": "1", "b": "=2", "c": "x y"}


def test_the_environment_gives_vars_and_the_command_line_wins() -> None:
    environ = {"BCDRILL_VAR_wecom_key": "wk-1", "BCDRILL_VAR_site": "prod", "BCDRILL_VAR_": "x", "HOME": "/"}
    assert parse_vars(["site=dr"], environ) == {"wecom_key": "wk-1", "site": "dr"}
