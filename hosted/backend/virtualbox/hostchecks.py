"""`hosted doctor`'s checks of the host beneath VirtualBox, off Linux: can VMs run at full speed?

Windows: with Hyper-V (or WSL 2, the Virtual Machine Platform, Memory integrity) on,
VirtualBox runs its VMs through Windows' hypervisor, much more slowly.  macOS: an
Intel Mac runs VMs only once the user has allowed VirtualBox's kernel extension;
Apple silicon needs none, and runs arm64 machines only.  The probes ask the system
(PowerShell, kmutil); the verdicts are pure, for tests.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from typing import Literal

Found = tuple[Literal["ok", "warn", "fail"], str, str]  # status, detail, hint


def _output(argv: list[str]) -> str | None:
    try:
        return subprocess.run(argv, capture_output=True, text=True, encoding="utf-8", errors="replace",
                              timeout=30, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return None


def hypervisor_present() -> bool | None:
    """Windows runs on a hypervisor (Hyper-V, WSL 2, Virtual Machine Platform, Memory integrity)."""
    out = _output(["powershell", "-NoProfile", "-NonInteractive", "-Command",
                   "(Get-CimInstance Win32_ComputerSystem).HypervisorPresent"])
    word = (out or "").strip().lower()
    return True if word == "true" else False if word == "false" else None


KEXT = "org.virtualbox.kext.VBoxDrv"


def kext_loaded() -> bool | None:
    """VirtualBox's kernel extension is loaded (Intel Macs: macOS asks the user to allow it)."""
    for argv in (["kmutil", "showloaded", "--bundle-identifier", KEXT], ["kextstat", "-l", "-b", KEXT]):
        out = _output(argv)
        if out is not None:
            return KEXT in out
    return None


def hyperv(present: bool | None) -> Found:
    """Windows: is a hypervisor beneath it (``present``; None: could not ask)?"""
    if present is None:
        return ("warn", "could not ask Windows whether Hyper-V is on (PowerShell did not answer)",
                "run `systeminfo` and look for \"A hypervisor has been detected\"")
    if not present:
        return ("ok", "no hypervisor beneath Windows: VirtualBox uses VT-x/AMD-V itself", "")
    return ("warn",
            "Windows runs on a hypervisor (Hyper-V, WSL 2, Virtual Machine Platform, Windows Hypervisor "
            "Platform or Memory integrity are on, or Windows itself is a VM): VirtualBox runs its VMs "
            "through it, much more slowly (a green turtle in the VM's window)",
            "if you do not need those features: `bcdedit /set hypervisorlaunchtype off` as administrator "
            "(or turn them off in Windows Features and Core isolation), then restart")


def mac(native_arch: str, kext_loaded: Callable[[], bool | None]) -> Found:
    """macOS: Apple silicon needs no kernel extension; an Intel Mac needs VirtualBox's, allowed."""
    if native_arch == "arm64":
        return ("ok", "Apple silicon: VirtualBox uses macOS' Hypervisor framework (no kernel extension) "
                "and runs arm64 machines only: use arm64 images", "")
    loaded = kext_loaded()
    if loaded is None:
        return ("warn", "could not ask macOS whether VirtualBox's kernel extension is loaded",
                f"`kmutil showloaded --bundle-identifier {KEXT}` should list it")
    if loaded:
        return ("ok", f"VirtualBox's kernel extension is loaded ({KEXT})", "")
    return ("fail", "VirtualBox's kernel extension is not loaded: no machine can start",
            "open System Settings > Privacy & Security, allow the software of \"Oracle America, Inc.\", "
            "restart the Mac, then run `hosted doctor` again")
