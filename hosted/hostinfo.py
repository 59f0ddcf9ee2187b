"""What this computer is, beyond what the Python running hosted says.

An x86_64 Python on an Apple silicon Mac runs under Rosetta 2, and one on
Windows on Arm under emulation: ``platform.machine()`` then says x86_64 while
VirtualBox, a native program, runs ARM machines only.
"""

from __future__ import annotations

import ctypes
import sys


def native_under_emulation() -> str | None:
    """``arm64`` when this x86_64 process is emulated on an arm64 computer."""
    try:
        if sys.platform == "darwin":
            return "arm64" if _sysctl_int(b"sysctl.proc_translated") == 1 else None
        if sys.platform == "win32":
            return "arm64" if _windows_native_machine() == 0xAA64 else None  # IMAGE_FILE_MACHINE_ARM64
    except (OSError, AttributeError, ValueError):
        return None
    return None


def _sysctl_int(name: bytes) -> int | None:
    libc = ctypes.CDLL(None)
    value = ctypes.c_int(0)
    size = ctypes.c_size_t(ctypes.sizeof(value))
    if libc.sysctlbyname(name, ctypes.byref(value), ctypes.byref(size), None, ctypes.c_size_t(0)) != 0:
        return None  # no such name: an Intel Mac, or a macOS without Rosetta
    return value.value


def _windows_native_machine() -> int | None:
    if sys.platform != "win32":
        return None
    kernel32 = ctypes.WinDLL("kernel32")
    process, native = ctypes.c_ushort(0), ctypes.c_ushort(0)
    current = kernel32.GetCurrentProcess()
    if not kernel32.IsWow64Process2(current, ctypes.byref(process), ctypes.byref(native)):
        return None
    return native.value
