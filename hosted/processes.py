"""Whether a process is still running, for records a process leaves behind it (a lock's
holder, an interrupted operation's journal entry)."""

from __future__ import annotations

import os
from typing import Any

PROCESS_QUERY_LIMITED_INFORMATION = 0x1000
STILL_ACTIVE = 259
ERROR_INVALID_PARAMETER = 87  # OpenProcess of a process id no process has


def alive(pid: object) -> bool:
    """True unless ``pid`` is surely gone; unknown counts as running (never sweep too early)."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    if pid == os.getpid():
        return True
    if os.name == "nt":  # there, os.kill(pid, 0) would terminate it
        return _alive_windows(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # someone else's process: it exists
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """A process that has ended but that its parent has not yet reaped (Linux: state Z in
    /proc/PID/stat); it still answers os.kill, yet it holds no lock and will do nothing more."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except OSError:  # no /proc (macOS), or it is gone meanwhile
        return False
    state = stat[stat.rfind(b")") + 1:].split(maxsplit=1)  # the name may hold spaces and ")"
    return bool(state) and state[0] == b"Z"


def _kernel32() -> Any:
    import ctypes

    return ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined,unused-ignore]


def _alive_windows(pid: int, kernel32: Any = None) -> bool:
    import ctypes

    try:
        k = kernel32 or _kernel32()
        handle = k.OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, False, pid)
        if not handle:
            last = k.GetLastError() if kernel32 is not None else ctypes.get_last_error()  # type: ignore[attr-defined,unused-ignore]
            return bool(last != ERROR_INVALID_PARAMETER)  # access denied: someone else's, running
        try:
            code = ctypes.c_ulong(0)
            if not k.GetExitCodeProcess(handle, ctypes.byref(code)):
                return True
            return code.value == STILL_ACTIVE
        finally:
            k.CloseHandle(handle)
    except (OSError, AttributeError):
        return True
