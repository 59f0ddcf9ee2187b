"""VirtualBox without its kernel driver (hosts that cannot load modules): VMs still run,
with guest code interpreted, if each machine carries the extradata that allows it."""

from __future__ import annotations

import platform
from pathlib import Path
from typing import Any

from hosted.events import Emit, Event


def has_kernel_driver(system: str | None = None) -> bool:
    """Can VMs use hardware virtualisation?  Only Linux can lack the driver and still run."""
    system = system or platform.system()
    if system == "Linux":
        return Path("/dev/vboxdrv").exists()
    return True


DRIVERLESS_EXTRADATA = (("VBoxInternal/HM/FallbackToIEM", "1"),)
DRIVERLESS_WARNING = "no kernel driver: guest code is interpreted, very slow"


def driverless_extradata(system: str | None = None) -> tuple[tuple[str, str], ...]:
    """Per-VM extradata that lets a VM start without the kernel driver (empty when it is loaded)."""
    return () if has_kernel_driver(system) else DRIVERLESS_EXTRADATA


def set_up_driverless(machine: Any, driverless: bool, emit: Emit, name: str) -> None:
    """Without the kernel driver: let ``machine`` (unsaved) start anyway, and say it will be slow."""
    if not driverless:
        return
    emit(Event("warning", DRIVERLESS_WARNING, machine=name))
    for key, value in DRIVERLESS_EXTRADATA:
        machine.setExtraData(key, value)
