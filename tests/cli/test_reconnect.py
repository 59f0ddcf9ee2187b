"""A VBoxSVC that was shutting down refuses the process that connects in its last moments,
for the rest of that process (bench/README.md has the sweep that shows it on real VirtualBox).
The console script then runs itself again, once, in place (hosted.cli.reconnect); ``main()``
called in process does not.  Against test backends that refuse (tests/cli_support.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cli_support  # noqa: F401 -- the backends HOSTED_BACKEND names
import pytest

from hosted.cli.main import main

TESTS = Path(__file__).resolve().parents[1]
# The console script's entry (hosted.cli.main.run), in a process that may use a test backend.
LAUNCH = (f"import sys; sys.path.insert(0, {str(TESTS)!r}); import _pytest, cli_support; "
          "from hosted.cli.main import run; run()")


def hosted(tmp_path: Path, backend: str, *argv: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    profile = tmp_path / "hosted.yaml"
    profile.write_text("version: 1\nname: rc\nmachines:\n  web: {memory: 64M}\n", encoding="utf-8")
    connects = tmp_path / "connects"
    env = {**os.environ, "HOSTED_BACKEND": f"cli_support:{backend}", "HOSTED_TEST_CONNECTS": str(connects),
           "HOSTED_CACHE_DIR": str(tmp_path / "cache"), "HOSTED_STATE_DIR": str(tmp_path / "state"),
           "NO_COLOR": "1", "COLUMNS": "120"}
    env.pop("HOSTED_RECONNECTED", None)
    done = subprocess.run([sys.executable, "-c", LAUNCH, *argv, "-f", str(profile)], env=env,
                          capture_output=True, text=True, encoding="utf-8", timeout=120)
    return done, connects.read_text(encoding="utf-8").splitlines()


def test_a_refused_connection_is_made_again_by_the_same_process_run_again(tmp_path: Path) -> None:
    done, connects = hosted(tmp_path, "refused_once", "status")
    assert done.returncode == 0, done.stderr
    assert "web" in done.stdout and "VBoxSVC" not in done.stdout
    assert done.stderr.count("was stopping as hosted connected; running the command again") == 1
    # Two connects by one process id: the command ran again in place (exec), not in a child.
    pids, markers = zip(*(c.split(" ") for c in connects), strict=True)
    assert len(set(pids)) == 1 and markers == ("", "1")


def test_a_second_refusal_is_the_error_once(tmp_path: Path) -> None:
    done, connects = hosted(tmp_path, "refused", "status", "--json")
    assert done.returncode == 3
    assert len(connects) == 2  # once again, not more
    assert done.stdout.count('"ServiceRefused"') == 1 and done.stdout.count('"ok": false') == 1


def test_main_in_process_is_not_run_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    profile = tmp_path / "hosted.yaml"
    profile.write_text("version: 1\nname: rc\nmachines:\n  web: {memory: 64M}\n", encoding="utf-8")
    monkeypatch.setenv("HOSTED_BACKEND", "cli_support:refused")
    monkeypatch.setenv("HOSTED_TEST_CONNECTS", str(tmp_path / "connects"))
    monkeypatch.delenv("HOSTED_RECONNECTED", raising=False)
    assert main(["status", "-f", str(profile)]) == 3
    assert len((tmp_path / "connects").read_text(encoding="utf-8").splitlines()) == 1
    assert "HOSTED_RECONNECTED" not in os.environ


def test_doctor_runs_again_when_the_service_refused_it(tmp_path: Path) -> None:
    """`hosted doctor` reports a refused connection as a failed check rather than raising: it
    runs itself again as well (the lab role's first task is `hosted doctor`)."""
    runs = tmp_path / "runs"
    launch = (f"import os, sys; sys.path.insert(0, {str(TESTS)!r}); import _pytest\n"
              "from hosted.backend.virtualbox import diagnose as d\n"
              "again = bool(os.environ.get('HOSTED_RECONNECTED'))\n"
              f"open({str(runs)!r}, 'a').write(f'{{os.getpid()}} {{int(again)}}\\n')\n"
              "refused = d.Check('vboxsvc', 'fail', 'refused', 'run it again', 'ServiceRefused')\n"
              "d.diagnose = lambda: [d.Check('vboxsvc', 'ok', 'answers') if again else refused]\n"
              "from hosted.cli.main import run; run()")
    env = {**os.environ, "HOSTED_CACHE_DIR": str(tmp_path / "cache"),
           "HOSTED_STATE_DIR": str(tmp_path / "state")}
    env.pop("HOSTED_RECONNECTED", None)
    done = subprocess.run([sys.executable, "-c", launch, "doctor", "--json"], env=env, capture_output=True,
                          text=True, encoding="utf-8", timeout=120)
    # One JSON document, the second run's: the first printed nothing before it ran again.
    assert [c["detail"] for c in json.loads(done.stdout)["checks"]] == ["answers"], done.stderr
    lines = runs.read_text(encoding="utf-8").splitlines()
    pids, markers = zip(*(line.split(" ") for line in lines), strict=True)
    assert len(set(pids)) == 1 and markers == ("0", "1")
