"""Turning VirtualBox failures into hosted's named errors, and awaiting IProgress.

No raw COM/XPCOM exception leaves the backend: the public methods run inside
``boundary``, which turns the bindings' exception into a HostedError that
keeps VirtualBox's own message and result code.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

from hosted.backend.virtualbox.context import Ctx
from hosted.errors import ComThreadError, HostedError, MachineLocked, OperationFailed, ServiceGone
from hosted.events import Emit, Event

E_ACCESSDENIED = 0x80070005
E_INVALIDARG = 0x80070057
VBOX_E_OBJECT_NOT_FOUND = 0x80BB0001
VBOX_E_INVALID_VM_STATE = 0x80BB0002
VBOX_E_FILE_ERROR = 0x80BB0004
VBOX_E_INVALID_OBJECT_STATE = 0x80BB0007
VBOX_E_NOT_SUPPORTED = 0x80BB0009
VBOX_E_OBJECT_IN_USE = 0x80BB000C
# The connection to VBoxSVC is gone: E_ABORT/NS_ERROR_ABORT (XPCOM's IPC ended),
# RPC_S_SERVER_UNAVAILABLE, RPC_S_CALL_FAILED, RPC_S_CALL_FAILED_DNE, RPC_E_DISCONNECTED,
# RPC_S_UNKNOWN_IF, CO_E_OBJNOTCONNECTED, RPC_E_SERVER_DIED, RPC_E_SERVER_DIED_DNE.
DEAD = {0x80004004, 0x800706BA, 0x800706BE, 0x800706BF, 0x80010108, 0x800706B5, 0x800401FD,
        0x80010007, 0x80010012}
RPC_E_WRONG_THREAD = 0x8001010E  # an object of another apartment (an STA's, from another thread)
CO_E_NOTINITIALIZED = 0x800401F0  # a thread that never called CoInitializeEx
RPC_E_CHANGED_MODE = 0x80010106  # CoInitializeEx asked for another apartment than the thread's
THREADING = {RPC_E_WRONG_THREAD, CO_E_NOTINITIALIZED, RPC_E_CHANGED_MODE}
THREADING_HINT = ("this is a bug in how hosted (or the program it runs in) uses threads with COM; "
                  "`--parallel 1` works around it; please report it with `hosted doctor --json`")

_HINTS = {
    VBOX_E_OBJECT_NOT_FOUND: "the machine or object no longer exists; run the command again to re-read",
    VBOX_E_INVALID_VM_STATE: "the machine is in the wrong state for this (e.g. running or saved); "
                             "stop it or discard its saved state first",
    VBOX_E_FILE_ERROR: "a file VirtualBox needs is missing or in the way; check the path in the message",
    VBOX_E_INVALID_OBJECT_STATE: "another session may hold the machine; wait for it or close it",
    VBOX_E_NOT_SUPPORTED: "this VirtualBox or host does not support it",
    VBOX_E_OBJECT_IN_USE: "the object is in use (attached or locked) elsewhere",
    E_ACCESSDENIED: "VirtualBox refused access; check file permissions and that the path is allowed",
    E_INVALIDARG: "VirtualBox rejected a value; check the profile (paths must exist, names be valid)",
}


def status_of(ctx: Ctx, exc: BaseException) -> int | None:
    try:
        status = ctx.mgr.xcptGetStatus(exc)
    except Exception:
        return None
    return None if status is None else int(status) & 0xFFFFFFFF


def message_of(ctx: Ctx, exc: BaseException) -> str:
    try:
        text = ctx.mgr.xcptGetMessage(exc)
    except Exception:
        text = None
    return str(text or exc).strip()


def hint_for(code: int | None) -> str:
    return _HINTS.get(code or 0, "see VirtualBox's message; VBox.log of the machine may say more")


def translate(ctx: Ctx, exc: BaseException, what: str) -> HostedError:
    code = status_of(ctx, exc)
    text = message_of(ctx, exc)
    message = f"{what}: {text}" + (f" ({code:#010x})" if code is not None else "")
    if code in DEAD or _dead(ctx, exc):
        return ServiceGone(message, "VirtualBox's service (VBoxSVC) went away (it crashed, was restarted or "
                                    "you logged off); run the command again")
    if code in THREADING:
        return ComThreadError(message, THREADING_HINT, result_code=code)
    if code == VBOX_E_INVALID_OBJECT_STATE and "lock" in text.lower():
        return MachineLocked(message, _HINTS[VBOX_E_INVALID_OBJECT_STATE])
    return OperationFailed(message, hint_for(code), result_code=code)


def _dead(ctx: Ctx, exc: BaseException) -> bool:
    """The bindings' own verdict: the object's server is gone."""
    try:
        return bool(ctx.mgr.xcptIsDeadInterface(exc))
    except Exception:
        return False


def attach_thread(ctx: Ctx) -> None:
    """COM (CoInitializeEx) and XPCOM (AttachThread) expect each thread that calls
    VirtualBox to be set up once; `hosted up` calls the backend from worker threads."""
    ctx.threads.attach()


@contextlib.contextmanager
def boundary(ctx: Ctx, what: str) -> Iterator[None]:
    """Let HostedErrors through; turn the bindings' exceptions into named errors."""
    try:
        attach_thread(ctx)
        yield
    except HostedError:
        raise
    except ctx.xcpt as exc:
        raise translate(ctx, exc, what) from exc


def wait_progress(
    ctx: Ctx, progress: Any, what: str, emit: Emit, machine: str | None = None,
    timeout: float | None = None,
) -> None:
    """Wait in slices so percentages become events and a stuck operation times out."""
    limit = ctx.progress_timeout if timeout is None else timeout
    deadline = time.monotonic() + limit
    last = -1
    while True:
        progress.waitForCompletion(200)
        percent = int(progress.percent)
        if percent != last:
            emit(Event("progress", what, machine=machine, percent=float(percent)))
            last = percent
        if progress.completed:
            break
        if time.monotonic() > deadline:
            with contextlib.suppress(Exception):
                if progress.cancelable:
                    progress.cancel()
            raise OperationFailed(f"{what}: no result after {limit:.0f} s", "VirtualBox may be stuck; "
                                  "check the machine's VBox.log, or retry with a longer timeout")
    _raise_if_failed(progress, what)


def _raise_if_failed(progress: Any, what: str) -> None:
    code = int(progress.resultCode) & 0xFFFFFFFF
    if code == 0:
        return
    info = progress.errorInfo
    text = str(info.text) if info is not None else ""
    raise OperationFailed(f"{what} failed: {text} ({code:#010x})", hint_for(code), result_code=code)
