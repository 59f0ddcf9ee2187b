"""One run per environment: a second run waits (saying for whom) or, asked not to wait,
fails at once; other environments are not held up; a lock left by a process that died
is taken over.  Real processes, killed by the PID the test started."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import cli_support  # noqa: F401 -- the backend HOSTED_BACKEND names (hosted imports none itself)
import pytest
from double import MemoryBackend
from factories import env, spec

from hosted import api
from hosted.events import Recorder
from hosted.ports import PortAllocator
from hosted.run.lock import EnvironmentBusy, environment_lock, lock_path

TESTS = Path(__file__).resolve().parent


@pytest.fixture
def backend(tmp_path: Path) -> MemoryBackend:
    return MemoryBackend(root=tmp_path / "vms", ports=PortAllocator(tmp_path / "ports"))


def holder(env_name: str, ready: Path) -> subprocess.Popen[bytes]:
    """Another process holding ``env_name``'s lock until it is killed."""
    code = textwrap.dedent(f"""
        import time
        from pathlib import Path
        from hosted.run.lock import environment_lock
        with environment_lock({env_name!r}, "up", lambda e: None):
            Path({str(ready)!r}).write_text("held")
            time.sleep(600)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], env=dict(os.environ))
    deadline = time.monotonic() + 30
    while not ready.exists():
        assert proc.poll() is None and time.monotonic() < deadline, "the holder did not start"
        time.sleep(0.05)
    return proc


def test_a_second_run_fails_at_once_when_asked_not_to_wait(backend: MemoryBackend, tmp_path: Path) -> None:
    e = env(spec("web", state="poweroff"), name="locked1")
    proc = holder("locked1", tmp_path / "ready")
    try:
        with pytest.raises(EnvironmentBusy) as err:
            api.up(e, backend=backend, wait_lock=False)
        assert f"`hosted up` (process {proc.pid}" in err.value.message
        assert backend.list_machines() == [], "the refused run changed something"
        assert api.up(env(spec("web", state="poweroff"), name="other"), backend=backend, wait_lock=False).ok
    finally:
        proc.kill()
        proc.wait()


def test_a_second_run_waits_saying_for_whom_then_goes_on(backend: MemoryBackend, tmp_path: Path) -> None:
    e = env(spec("web", state="poweroff"), name="locked2")
    proc = holder("locked2", tmp_path / "ready")
    rec = Recorder()
    done = threading.Event()

    def second() -> None:
        assert api.up(e, backend=backend, on_event=rec).ok
        done.set()

    thread = threading.Thread(target=second)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not any("waiting for" in m for m in rec.messages("info")) and time.monotonic() < deadline:
            time.sleep(0.05)
        [waiting] = [m for m in rec.messages("info") if "waiting for" in m]
        assert f"`hosted up` (process {proc.pid}" in waiting and "environment 'locked2'" in waiting
        assert not done.is_set() and backend.list_machines() == []
    finally:
        proc.send_signal(signal.SIGKILL)  # dies holding the lock: the OS releases it
        proc.wait()
    thread.join(timeout=30)
    assert done.is_set() and len(backend.list_machines()) == 1
    assert any("ended without finishing; its lock is taken over" in m for m in rec.messages("info"))


def test_runs_of_one_process_on_one_environment_take_turns(backend: MemoryBackend) -> None:
    order: list[str] = []
    with environment_lock("turns", "up", lambda e: None):
        with pytest.raises(EnvironmentBusy, match="`hosted up`"), \
                environment_lock("turns", "destroy", lambda e: None, wait=False):
            order.append("never")
        order.append("first")
    with environment_lock("turns", "destroy", lambda e: None, wait=False):
        order.append("second")
    assert order == ["first", "second"]
    assert lock_path("turns").is_file() and not lock_path("turns").with_suffix(".holder").exists()


def test_the_cli_says_who_holds_it(tmp_path: Path) -> None:
    (tmp_path / "hosted.yaml").write_text("version: 1\nname: locked3\nmachines:\n  web: {memory: 64M}\n")
    proc = holder("locked3", tmp_path / "ready")
    try:
        run = subprocess.run([sys.executable, "-m", "hosted", "halt", "--no-wait-lock"], cwd=tmp_path,
                             capture_output=True, text=True, timeout=60,
                             env={**os.environ, "NO_COLOR": "1", "HOSTED_BACKEND": "cli_support:shared",
                                  "PYTHONPATH": str(TESTS)})
    finally:
        proc.kill()
        proc.wait()
    assert run.returncode == 1, run.stderr
    assert "environment 'locked3' is busy" in run.stderr and f"process {proc.pid}" in run.stderr
