"""COM threading on Windows, through a fake of COM that enforces apartments as Windows does
(tests/fakecom.py): worker threads of a parallel run may use VirtualBox's objects, COM's
threading failures and a dead VBoxSVC become named errors, and a missing pywin32 says so.
No VirtualBox needed; tests/backend_virtualbox/test_com_vbox.py runs a parallel `up` on real
VirtualBox through the same fake."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import fakecom
import pytest

from hosted.backend.virtualbox import apartment, connect, connection, locate, translate
from hosted.errors import BackendUnavailable, ComThreadError, OperationFailed, ServiceGone


class TinyMachine:
    def __init__(self, name: str) -> None:
        self.name = name
        self.memorySize = 64


class TinyVirtualBox:
    version, APIVersion, revision = "7.2.4", "7_2", 170000

    def __init__(self) -> None:
        self.machines = [TinyMachine("web"), TinyMachine("db")]

    def findMachine(self, name: str) -> TinyMachine:
        return next(m for m in self.machines if m.name == name)


class TinyManager:
    """What ComManager wraps: hands out the objects of one VirtualBox."""

    constants = SimpleNamespace()
    oXcptClass = None

    def __init__(self) -> None:
        self.vbox = TinyVirtualBox()

    def getVirtualBox(self) -> TinyVirtualBox:
        return self.vbox

    def getArray(self, obj: Any, attr: str) -> Any:
        return list(getattr(obj, attr))

    def xcptGetStatus(self, exc: BaseException) -> None:
        return None


@pytest.fixture
def windows(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[fakecom.Com]:
    """This process as a Windows one with pywin32 not loaded yet, and vboxapi's MSCOM manager."""
    com = fakecom.Com()
    monkeypatch.setattr(connection, "_manager", None)
    monkeypatch.setattr(connection, "_shared", True)
    monkeypatch.setattr(locate, "require_install", lambda: locate.Install(tmp_path, tmp_path / "sdk"))
    with fakecom.installed(com, TinyManager):
        yield com


def in_workers(work: Any, n: int = 4) -> list[Any]:
    """``work`` on ``n`` threads at once, as the runner's pool calls the backend."""
    with ThreadPoolExecutor(max_workers=n, thread_name_prefix="hosted-run") as pool:
        return list(pool.map(lambda _: work(), range(n)))


def test_the_fake_refuses_what_windows_refuses() -> None:
    com = fakecom.Com()
    com.CoInitializeEx(fakecom.COINIT_APARTMENTTHREADED)  # this thread: an STA
    obj = com.wrap(TinyVirtualBox())
    assert obj.version == "7.2.4"
    errors: list[int] = []

    def other(flags: int | None) -> None:
        if flags is not None:
            com.CoInitializeEx(flags)
        try:
            _ = obj.version
        except Exception as exc:
            errors.append(getattr(exc, "hresult", 0) & 0xFFFFFFFF)

    for flags in (None, fakecom.COINIT_MULTITHREADED, fakecom.COINIT_APARTMENTTHREADED):
        t = threading.Thread(target=other, args=(flags,))
        t.start()
        t.join()
    assert errors == [fakecom.CO_E_NOTINITIALIZED, fakecom.RPC_E_WRONG_THREAD, fakecom.RPC_E_WRONG_THREAD]
    with pytest.raises(Exception) as info:
        com.CoInitializeEx(fakecom.COINIT_MULTITHREADED)
    assert info.value.hresult & 0xFFFFFFFF == fakecom.RPC_E_CHANGED_MODE  # type: ignore[attr-defined]


def test_an_mta_object_serves_every_thread_of_the_mta() -> None:
    com = fakecom.Com()
    com.CoInitializeEx(fakecom.COINIT_MULTITHREADED)
    obj = com.wrap(TinyVirtualBox())

    def use() -> str:
        com.CoInitializeEx(fakecom.COINIT_MULTITHREADED)
        return str(obj.findMachine("db").name)

    assert in_workers(use) == ["db"] * 4 and not com.violations


def test_parallel_calls_from_worker_threads_on_windows(windows: fakecom.Com) -> None:
    """The manager is made on the main thread; the runner's workers then use it (issue 16, 1)."""
    backend = connect()
    ctx = backend._ctx
    assert getattr(sys, "coinit_flags", None) == apartment.COINIT_MULTITHREADED, \
        "the MTA is asked for before pywin32 is loaded"

    def work() -> tuple[str, str, int]:
        info = backend.info()
        with translate.boundary(ctx, "reading a machine"):
            machine = ctx.vbox.findMachine("web")
            return info.version, str(machine.name), len(ctx.array(ctx.vbox, "machines"))

    assert in_workers(work) == [("7.2.4", "web", 2)] * 4
    assert not windows.violations, windows.violations


def test_a_program_that_loaded_pywin32_first_gets_objects_of_each_thread(windows: fakecom.Com) -> None:
    """hosted as a library in a program whose main thread already is an STA: each worker uses an
    IVirtualBox made in its own apartment, never the main thread's."""
    fakecom.install_pythoncom(windows, sys.modules)  # the program imported pythoncom: an STA
    backend = connect()
    ctx = backend._ctx
    assert not hasattr(sys, "coinit_flags"), "too late to choose: left as the program has it"
    main_vbox = ctx.vbox

    def work() -> tuple[str, bool]:
        with translate.boundary(ctx, "reading a machine"):
            return str(ctx.vbox.findMachine("db").name), ctx.vbox is main_vbox

    assert in_workers(work) == [("db", False)] * 4
    assert ctx.vbox.findMachine("web").name == "web"  # the main thread keeps its own
    assert not windows.violations, windows.violations


def test_objects_used_across_apartments_are_a_named_error(windows: fakecom.Com,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """What a worker got before this was fixed: RPC_E_WRONG_THREAD, now a ComThreadError."""
    monkeypatch.setattr(apartment, "prefer_mta", lambda: True)  # as before: nobody asks for the MTA
    backend = connect()

    def work() -> str:
        try:
            backend.info()
        except ComThreadError as exc:
            return f"{exc.result_code:#x} {exc.hint}"
        return "no error"

    for result in in_workers(work, 2):
        assert result.startswith("0x8001010e ") and "--parallel 1" in result
    assert windows.violations


def com_error(code: int) -> BaseException:
    return fakecom.error_class()(code, "boom")  # type: ignore[call-arg]


@pytest.mark.parametrize(("code", "named"), [
    (fakecom.RPC_E_WRONG_THREAD, ComThreadError),
    (fakecom.CO_E_NOTINITIALIZED, ComThreadError),
    (fakecom.RPC_E_CHANGED_MODE, ComThreadError),
    (0x800706BA, ServiceGone),  # RPC_S_SERVER_UNAVAILABLE
    (0x800706BE, ServiceGone),  # RPC_S_CALL_FAILED
    (0x80010108, ServiceGone),  # RPC_E_DISCONNECTED
    (0x800706B5, ServiceGone),  # RPC_S_UNKNOWN_IF
    (0x80004004, ServiceGone),  # NS_ERROR_ABORT (XPCOM)
    (0x80BB0001, OperationFailed),
])
def test_com_failures_become_named_errors(code: int, named: type[Exception]) -> None:
    com = fakecom.Com()
    mgr = fakecom.ComManager(com, TinyManager(), {"pythoncom": object()})
    ctx = SimpleNamespace(mgr=mgr)
    err = translate.translate(ctx, com_error(code), "starting web")  # type: ignore[arg-type]
    assert type(err) is named
    assert f"{code:#010x}" in err.message and err.hint
    if named is ServiceGone:
        assert err.retryable and err.exit_code == 3
    if named is ComThreadError:
        assert not err.retryable and err.result_code == code  # type: ignore[attr-defined]


def test_the_bindings_verdict_on_a_dead_object_counts() -> None:
    class Dead(TinyManager):
        def xcptGetStatus(self, exc: BaseException) -> int:
            return 0x80BB0008

        def xcptIsDeadInterface(self, exc: BaseException) -> bool:
            return True

    ctx = SimpleNamespace(mgr=Dead())
    assert isinstance(translate.translate(ctx, RuntimeError("gone"), "x"), ServiceGone)  # type: ignore[arg-type]


def test_missing_pywin32_is_named_with_how_to_install_it(windows: fakecom.Com) -> None:
    """vbox-sdk declares no dependency; without pywin32 vboxapi fails importing win32com (issue 16, 2)."""

    def no_pywin32(*_: object) -> None:
        raise ModuleNotFoundError("No module named 'win32com'", name="win32com")

    sys.modules["vboxapi"].VirtualBoxManager = no_pywin32  # type: ignore[attr-defined]
    with pytest.raises(BackendUnavailable) as info:
        connect()
    assert "pywin32" in info.value.message and "win32com" in info.value.message
    assert "vbox" in info.value.hint and "pywin32" in info.value.hint
