"""A parallel `up`, `halt` and `destroy` of three machines on real VirtualBox, through a fake of
Windows' COM that enforces apartments (tests/fakecom.py) over the real XPCOM objects.

The manager is made on the main thread as vboxapi makes it on Windows (pywin32's import puts
that thread in an apartment chosen by ``sys.coinit_flags``), and the runner's worker threads
create, configure, start, wait for and stop the machines at once.  Every use of an object from
a thread of another apartment is refused as Windows refuses it (RPC_E_WRONG_THREAD).  Nothing
here needs a booted guest: the machines have no disk to boot.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fakecom
import pytest

import hosted
from hosted.backend.virtualbox import apartment, connection
from hosted.errors import ComThreadError
from hosted.model import PowerState

# On Windows the real COM runs instead: test_com_windows.py.
pytestmark = [pytest.mark.vbox, pytest.mark.skipif(sys.platform == "win32", reason="real COM there")]
PROFILE = """\
version: 1
name: {name}
defaults: {{cpus: 1, memory: 32M, state: {state}}}
machines:
  a: {{nics: [{{nat: {{forwards: [{{guest: 22, host: auto}}]}}}}]}}
  b: {{nics: [{{nat: {{forwards: [{{guest: 22, host: auto}}]}}}}]}}
  c: {{nics: [{{nat: {{}}}}]}}
"""


@pytest.fixture
def windows_com(monkeypatch: pytest.MonkeyPatch) -> Iterator[fakecom.Com]:
    """Connections made from here on go through vboxapi's MSCOM manager over the real one."""
    import vbox_fixtures

    real_backend = vbox_fixtures.make_virtualbox_backend()  # the real manager, and the test machine folder
    real_mgr = real_backend._ctx.mgr
    com = fakecom.Com(fakecom.error_class(real_mgr.oXcptClass))
    monkeypatch.setattr(connection, "_manager", None)
    monkeypatch.setattr(connection, "_shared", True)
    monkeypatch.setattr(fakecom.ComManager, "initPerThread", _both_init)
    with fakecom.installed(com, lambda: real_mgr):
        yield com


def _both_init(self: fakecom.ComManager) -> None:
    """A worker joins COM's MTA (what vboxapi does on Windows) and attaches to XPCOM (what the
    real objects underneath need)."""
    self._com.CoInitializeEx(fakecom.COINIT_MULTITHREADED)
    self._inner.initPerThread()


def lab(tmp_path: Path, state: str) -> hosted.Environment:
    path = tmp_path / "hosted.yaml"
    path.write_text(PROFILE.format(name=f"com-{uuid.uuid4().hex[:8]}", state=state), encoding="utf-8")
    return hosted.load(path)


def backend_through_com() -> Any:
    from hosted.backend.virtualbox import connect

    return connect()


def failures(result: Any) -> list[str]:
    return [f"{m.machine}: {type(m.error).__name__}: {m.error.message}" for m in result.failed]


def test_parallel_up_halt_destroy_through_windows_com(windows_com: fakecom.Com, tmp_path: Path) -> None:
    env = lab(tmp_path, "running")
    backend = backend_through_com()
    assert backend._ctx.mgr.type == "MSCOM" and sys.coinit_flags == apartment.COINIT_MULTITHREADED
    try:
        result = hosted.up(env, yes=True, wait=False, backend=backend)
        assert result.ok, failures(result)
        assert {m.machine for m in result.machines} == {"a", "b", "c"}
        states = {m.machine: m.power for m in hosted.status(env, backend=backend)}
        assert states == dict.fromkeys("abc", PowerState.RUNNING.value), states
        halted = hosted.halt(env, force=True, backend=backend)
        assert halted.ok, failures(halted)
    finally:
        gone = hosted.destroy(env, yes=True, backend=backend)
    assert gone.ok, failures(gone)
    assert not windows_com.violations, windows_com.violations


def test_in_a_program_whose_main_thread_is_an_sta_each_worker_uses_its_own_objects(
        windows_com: fakecom.Com, tmp_path: Path) -> None:
    fakecom.install_pythoncom(windows_com, sys.modules)  # pywin32 loaded first, main thread an STA
    env = lab(tmp_path, "poweroff")
    backend = backend_through_com()
    assert not backend._ctx.threads.shared
    try:
        result = hosted.up(env, yes=True, backend=backend)
        assert result.ok, failures(result)
    finally:
        gone = hosted.destroy(env, yes=True, backend=backend)
    assert gone.ok, failures(gone)
    assert not windows_com.violations, windows_com.violations


def test_without_the_mta_the_workers_meet_rpc_e_wrong_thread_as_a_named_error(
        windows_com: fakecom.Com, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake bites: as hosted was before, the main thread's STA objects in the workers."""
    monkeypatch.setattr(apartment, "prefer_mta", lambda: True)
    env = lab(tmp_path, "poweroff")
    backend = backend_through_com()
    result = hosted.up(env, yes=True, backend=backend)
    assert not result.ok
    assert all(isinstance(m.error, ComThreadError) for m in result.machines), failures(result)
    assert all("0x8001010e" in m.error.message for m in result.machines if m.error is not None)
