"""Fixtures of the integration tests: real servers started per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sshd import SshdServer, sshd_fixture


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshdServer]:
    """A real OpenSSH sshd on a free loopback port (see tests/integration/sshd.py)."""
    yield from sshd_fixture(tmp_path_factory)
