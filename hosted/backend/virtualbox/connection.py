"""Connecting to VBoxSVC through vboxapi, once per process.

XPCOM cannot be initialised again in a process after ``deinit``, so the
manager is shared by every backend of the process and deinitialised at exit.
On Windows the process asks for COM's multi-threaded apartment before the
bindings load pywin32 (``apartment``), so the worker threads of a parallel
``up`` may use the objects the connecting thread made.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import io
import time
from collections.abc import Callable
from typing import Any

from hosted.backend.virtualbox import apartment, locate
from hosted.errors import BackendUnavailable

_manager: Any = None
_shared = True  # every thread may use every object (XPCOM, or COM's MTA)
# Modules of pywin32 that vboxapi imports on Windows.
PYWIN32_MODULES = ("win32com", "pythoncom", "pywintypes", "win32api", "win32con", "win32event", "winerror")
PYWIN32_HINT = ("install pywin32 into the Python that runs hosted: reinstall hosted with its vbox extra "
                "(`pipx install --force \".[vbox]\"`), or `pip install pywin32` in its environment")


def deinit() -> None:
    """Let VBoxSVC go: an atexit hook, and what the CLI calls before ``os._exit``
    (hosted.cli.leave).  Once done, this process connects no more."""
    global _manager
    if _manager is not None:
        with contextlib.suppress(Exception):
            _manager.deinit()
        _manager = None


def missing_pywin32(exc: BaseException) -> str | None:
    """The pywin32 module whose absence ``exc`` reports (None: another failure)."""
    name = getattr(exc, "name", None) or ""
    if isinstance(exc, ImportError) and name.split(".")[0] in PYWIN32_MODULES:
        return name
    return None


def manager() -> tuple[Any, locate.Install]:
    """The process's VirtualBoxManager (created on first use) and the install it uses."""
    global _manager, _shared
    found = locate.require_install()
    if _manager is not None:
        return _manager, found
    vboxapi = locate.import_vboxapi(found)
    shared = apartment.prefer_mta()  # before VirtualBoxManager imports pythoncom
    # vboxapi prints its own errors to stdout/stderr; the library never prints.
    chatter = io.StringIO()
    try:
        with contextlib.redirect_stdout(chatter), contextlib.redirect_stderr(chatter):
            mgr = vboxapi.VirtualBoxManager(None, None)
    except Exception as exc:
        module = missing_pywin32(exc)
        if module is not None:
            raise BackendUnavailable(f"VirtualBox's Python bindings need pywin32 on Windows: no module "
                                     f"named {module!r}", PYWIN32_HINT) from exc
        raise BackendUnavailable(f"cannot load VirtualBox's API bindings: {exc}",
                                 locate.service_hint()) from exc
    _manager, _shared = mgr, shared or str(getattr(mgr, "type", "")) != "MSCOM"
    atexit.register(deinit)
    return mgr, found


# VBoxSVC exits a few seconds (5 on Linux) after its last client left, and a client that
# arrives while it shuts down is refused with NS_ERROR_FAILURE; the next one starts a new
# VBoxSVC.  So a refusal is asked again for a little while before it is an error.
RETRY_SECONDS = 5.0


def virtualbox(mgr: Any, *, retry_seconds: float = RETRY_SECONDS,
               sleep: Callable[[float], None] = time.sleep,
               clock: Callable[[], float] = time.monotonic) -> Any:
    """IVirtualBox; starting VBoxSVC if needed, and again if the one there was shutting down."""
    deadline = clock() + retry_seconds
    pause = 0.1
    while True:
        chatter = io.StringIO()
        try:
            with contextlib.redirect_stdout(chatter), contextlib.redirect_stderr(chatter):
                vbox = mgr.getVirtualBox()
                _ = vbox.version
            return vbox
        except Exception as exc:
            if clock() + pause > deadline:
                raise BackendUnavailable(f"cannot reach VirtualBox's service (VBoxSVC): {exc}",
                                         locate.service_hint()) from exc
        sleep(pause)
        pause = min(pause * 2, 1.0)


def own_virtualbox(mgr: Any) -> tuple[Any, Any]:
    """A new IVirtualBox made on the calling thread (in its COM apartment), and its client,
    which keeps VBoxSDS alive while it lives.  The manager's own ``getVirtualBox`` would
    hand out the connecting thread's client."""
    if str(getattr(mgr, "type", "")) == "MSCOM":
        client = importlib.import_module("win32com.client").Dispatch("VirtualBox.VirtualBoxClient")
        return client, client.virtualBox
    return None, mgr.getVirtualBox()


def threads(mgr: Any, vbox: Any) -> apartment.Threads:
    """Which thread may use which IVirtualBox, for the manager ``manager`` made."""
    return apartment.Threads(mgr, vbox, _shared, own_virtualbox)
