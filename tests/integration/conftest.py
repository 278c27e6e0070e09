"""Fixtures of the integration tests: real servers started per session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sshd import SshdServer, sshd_fixture


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/integration/ carries the `integration` marker (`-m "not integration"`)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshdServer]:
    """A real OpenSSH sshd on a free loopback port (see tests/integration/sshd.py)."""
    yield from sshd_fixture(tmp_path_factory)
