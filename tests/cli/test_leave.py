"""The console script leaves with os._exit once a command is done (hosted.cli.leave): nothing
that must be written is lost, exit codes are kept, vboxapi's deinit and the atexit hooks run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent
PROFILE = "version: 1\nname: leaving\nmachines:\n" + "".join(
    f"  m{i}: {{memory: 64M, state: poweroff}}\n" for i in range(20))

# The test backend is accepted only under pytest (hosted.compose): the child imports _pytest.
# A stand-in for the connection's vboxapi manager, and an atexit hook, record that they ran.
CHILD = """\
import atexit, sys
sys.path.insert(0, {tests!r})
import _pytest, cli_support
import hosted.backend.virtualbox.connection as connection

class Manager:
    def deinit(self) -> None:
        with open({marker!r}, "a", encoding="utf-8") as f:
            f.write("deinit\\n")

def hook() -> None:
    with open({marker!r}, "a", encoding="utf-8") as f:
        f.write("atexit\\n")

connection._manager = Manager()
atexit.register(hook)
from hosted.cli.main import run
run(sys.argv[1:])
raise AssertionError("run() returned")
"""


def child(tmp_path: Path, *argv: str, backend: str = "shared", stdout: int | None = subprocess.PIPE,
          ) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    marker = tmp_path / "marker"
    marker.unlink(missing_ok=True)
    (tmp_path / "hosted.yaml").write_text(PROFILE, encoding="utf-8")
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120", "HOSTED_BACKEND": f"cli_support:{backend}",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    code = CHILD.format(tests=str(TESTS), marker=str(marker))
    proc = subprocess.run([sys.executable, "-c", code, *argv], stdout=stdout, stderr=subprocess.PIPE,
                          text=True, encoding="utf-8", cwd=tmp_path, env=env, timeout=60, check=False)
    ran = marker.read_text(encoding="utf-8").split() if marker.exists() else []
    return proc, ran


def test_a_pipe_gets_all_the_output_and_the_exit_hooks_run(tmp_path: Path) -> None:
    proc, ran = child(tmp_path, "status", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)  # all of it: 20 machines
    assert [m["machine"] for m in data["machines"]] == [f"m{i}" for i in range(20)]
    assert ran == ["deinit", "atexit"]  # vboxapi's deinit first, then the other hooks, once each
    proc, _ = child(tmp_path, "status")
    assert proc.returncode == 0 and "m19" in proc.stdout, proc.stderr


def test_a_large_output_is_written_whole(tmp_path: Path) -> None:
    proc, ran = child(tmp_path, "schema")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["title"]
    assert ran == ["deinit", "atexit"]


@pytest.mark.parametrize(("argv", "backend", "code"), [
    (("status",), "shared", 0),
    (("status",), "broken", 1),  # a bug: internal error
    (("status", "-f", "missing.yaml"), "shared", 2),
    (("frobnicate",), "shared", 2),
    (("status",), "unavailable", 3),
    (("--version",), "shared", 0),
])
def test_exit_codes_are_kept(tmp_path: Path, argv: tuple[str, ...], backend: str, code: int) -> None:
    proc, ran = child(tmp_path, *argv, backend=backend)
    assert proc.returncode == code, proc.stderr
    assert ran == ["deinit", "atexit"]


def test_the_debug_log_is_written_before_leaving(tmp_path: Path) -> None:
    from hosted.cli import debuglog

    log = debuglog.path()
    before = log.read_text(encoding="utf-8") if log.exists() else ""
    proc, _ = child(tmp_path, "status", "--debug")
    assert proc.returncode == 0, proc.stderr
    added = log.read_text(encoding="utf-8")[len(before):]
    assert "'status', '--debug'" in added and "list_machines" in added


@pytest.mark.parametrize("argv", [("status",), ("status", "--json"), ("schema",)])
def test_a_reader_that_left_is_no_error(tmp_path: Path, argv: tuple[str, ...]) -> None:
    """`hosted status | head -0`: no traceback, no "Exception ignored", a failing exit code."""
    read, write = os.pipe()
    os.close(read)
    try:
        proc, ran = child(tmp_path, *argv, stdout=write)
    finally:
        os.close(write)
    assert proc.returncode in (1, 141)
    assert "Traceback" not in proc.stderr and "Exception" not in proc.stderr, proc.stderr
    assert ran == ["deinit", "atexit"]


def test_an_idle_pool_left_open_does_not_hold_the_exit(tmp_path: Path) -> None:
    """The interpreter tells idle executor workers to end before it waits for threads: so does leave."""
    code = ("import concurrent.futures, sys\n"
            f"sys.path.insert(0, {str(ROOT)!r})\n"
            "pool = concurrent.futures.ThreadPoolExecutor(2)\n"
            "pool.submit(print, 'done')\n"
            "from hosted.cli.leave import leave\n"
            "leave(3)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, encoding="utf-8",
                          timeout=30, check=False)
    assert (proc.returncode, proc.stdout) == (3, "done\n"), proc.stderr
