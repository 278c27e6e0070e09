from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bcdrill.common.errors import RunDirError
from bcdrill.run.lock import RunLock


def test_second_holder_is_refused_with_the_holders_pid(tmp_path: Path) -> None:
    with RunLock(tmp_path):
        with pytest.raises(RunDirError, match=rf"in use by pid {os.getpid()} \(started 20"):
            RunLock(tmp_path).acquire()
        assert not RunLock(tmp_path).try_acquire()
    with RunLock(tmp_path) as again:
        assert again.held


def test_lock_of_a_killed_process_is_free(tmp_path: Path) -> None:
    code = (
        f"from bcdrill.run.lock import RunLock; RunLock({str(tmp_path)!r}).acquire(); import os; os._exit(0)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    assert RunLock(tmp_path).try_acquire()
