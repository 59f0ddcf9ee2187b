"""The test suite keeps out of the user's directories on macOS and Windows too (issue 16, 10).

hosted ignores XDG_* there, so a suite isolated by XDG_* alone writes keys, locks and port
reservations into the real ~/Library or %LOCALAPPDATA%.  The suite runs here with
those platforms' rules simulated (tests/simulated_host.py) and a home of its own, which must
stay empty.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
# Tests that write to hosted's data, cache and state directories (locks, reservations, keys).
SUBSET = ["test_run_lock.py", "test_ports.py", "test_run.py", "test_run_interrupt.py"]
# The whole pure suite but the tests of the Linux (XDG) rules themselves, and this file.
WHOLE = [".", "--ignore=ssh/test_paths.py", "--ignore=test_state_dir.py",
         "--ignore=test_isolation_hosts.py"]


@pytest.mark.skipif(os.environ.get("HOSTED_SANDBOX") == "1",
                    reason="scripts/test runs it in its host step; the sandbox run would repeat it")
@pytest.mark.parametrize(("system", "tests"), [("darwin", SUBSET), ("win32", WHOLE)],
                         ids=["darwin-subset", "win32-whole-suite"])
def test_the_suite_writes_nothing_into_the_users_folders(system: str, tests: list[str],
                                                         tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOSTED_", "XDG_", "PYTEST_"))}
    env.update(HOSTED_TEST_SIMULATE=system, HOSTED_TEST_HOME=str(home), HOME=str(home),
               LOCALAPPDATA=str(home / "AppData" / "Local"))
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "simulated_host",
            "-m", "not vbox and not sshd and not e2e", *tests]
    proc = subprocess.run(argv,
                          cwd=TESTS, env={**env, "PYTHONPATH": str(TESTS)}, capture_output=True, text=True,
                          encoding="utf-8", errors="replace", timeout=1500, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    written = sorted(str(p.relative_to(home)) for p in home.rglob("*"))
    assert written == [], f"written into the user's folders: {written[:10]}"
