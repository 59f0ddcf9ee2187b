"""Whether a process that left a record is still running (hosted.processes.alive)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from hosted.processes import alive


def test_a_running_process_is_alive_and_an_unknown_pid_is_not() -> None:
    assert alive(os.getpid())
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"]) as proc:
        try:
            assert alive(proc.pid)
        finally:
            proc.kill()
            proc.wait()
    assert not alive(proc.pid)
    assert not alive(None) and not alive(0) and not alive("12")


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="zombies are read from /proc (Linux)")
def test_a_killed_process_its_parent_has_not_reaped_yet_is_not_alive() -> None:
    """A run killed holding the environment's lock is a zombie until its parent reaps it; the
    next run, which gets the lock at once, must see that it ended (and say it takes over)."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        proc.kill()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with open(f"/proc/{proc.pid}/stat", "rb") as fh:
                if b") Z " in fh.read():
                    break
            time.sleep(0.01)
        os.kill(proc.pid, 0)  # not reaped: the kernel still knows the pid
        assert not alive(proc.pid)
    finally:
        proc.wait()
