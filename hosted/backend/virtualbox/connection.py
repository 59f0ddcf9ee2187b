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
from typing import Any

from hosted.backend.virtualbox import apartment, locate
from hosted.errors import BackendUnavailable, ServiceRefused

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


def virtualbox(mgr: Any) -> Any:
    """IVirtualBox; starting VBoxSVC if needed.

    A VBoxSVC that is shutting down (5 s after its last client left) refuses a client that
    arrives in the last few hundredths of a second, and the bindings' connection stays broken
    for the rest of the process: asking again, even for 15 s, gets the same refusal
    (measured, bench/README.md).  So the refusal is ServiceRefused, which only a new process
    gets past."""
    chatter = io.StringIO()
    try:
        with contextlib.redirect_stdout(chatter), contextlib.redirect_stderr(chatter):
            vbox = mgr.getVirtualBox()
            _ = vbox.version
    except Exception as exc:
        raise ServiceRefused(f"cannot reach VirtualBox's service (VBoxSVC): {exc}",
                             "if VBoxSVC was just stopping (it stops a few seconds after its last "
                             "client), run the command again; otherwise: " + locate.service_hint()) from exc
    return vbox


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
