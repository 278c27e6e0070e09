"""Every action kind the scenario format knows has one executor, and each satisfies the protocol."""

from __future__ import annotations

import pytest

from bcdrill.executors import EXECUTORS, get_executor
from bcdrill.executors.base import Executor
from bcdrill.scenario.model import ACTION_KINDS


def test_every_action_kind_has_an_executor() -> None:
    assert set(EXECUTORS) == set(ACTION_KINDS)


@pytest.mark.parametrize("kind", sorted(EXECUTORS))
def test_executor_satisfies_the_protocol(kind: str) -> None:
    executor = get_executor(kind)
    assert isinstance(executor, Executor)
    for method in ("run", "dry_run", "describe"):
        assert callable(getattr(executor, method))
