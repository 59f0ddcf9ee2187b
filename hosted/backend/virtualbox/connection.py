"""Connecting to VBoxSVC through vboxapi, once per process.

XPCOM cannot be initialised again in a process after ``deinit``, so the
manager is shared by every backend of the process and deinitialised at exit.
"""

from __future__ import annotations

import atexit
import contextlib
import io
from typing import Any

from hosted.backend.virtualbox import locate
from hosted.errors import BackendUnavailable

_manager: Any = None


def _deinit() -> None:
    global _manager
    if _manager is not None:
        with contextlib.suppress(Exception):
            _manager.deinit()
        _manager = None


def manager() -> tuple[Any, locate.Install]:
    """The process's VirtualBoxManager (created on first use) and the install it uses."""
    global _manager
    found = locate.require_install()
    if _manager is not None:
        return _manager, found
    vboxapi = locate.import_vboxapi(found)
    # vboxapi prints its own errors to stdout/stderr; the library never prints.
    chatter = io.StringIO()
    try:
        with contextlib.redirect_stdout(chatter), contextlib.redirect_stderr(chatter):
            mgr = vboxapi.VirtualBoxManager(None, None)
    except Exception as exc:
        raise BackendUnavailable(f"cannot load VirtualBox's API bindings: {exc}",
                                 locate.service_hint()) from exc
    _manager = mgr
    atexit.register(_deinit)
    return mgr, found


def virtualbox(mgr: Any) -> Any:
    """IVirtualBox; starting VBoxSVC if needed."""
    chatter = io.StringIO()
    try:
        with contextlib.redirect_stdout(chatter), contextlib.redirect_stderr(chatter):
            vbox = mgr.getVirtualBox()
            _ = vbox.version
    except Exception as exc:
        raise BackendUnavailable(f"cannot reach VirtualBox's service (VBoxSVC): {exc}",
                                 locate.service_hint()) from exc
    return vbox
