"""A machine hosted creates empty (an installer ISO's, or one without image) is of the host's CPU
family, as VirtualBox itself reports it (issue 16, 8): VirtualBox 7.1+ on an Apple silicon Mac
runs ARM machines only, and hosted made every machine x86.  No VirtualBox needed."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from hosted.backend.virtualbox import create
from hosted.backend.virtualbox.compat import Api
from hosted.events import discard
from hosted.model import MachineSpec, Tags

CONST = SimpleNamespace(PlatformArchitecture_x86=1, PlatformArchitecture_ARM=2)


class Machine:
    settingsFilePath = "/vms/lab-web/lab-web.vbox"

    def __init__(self) -> None:
        self.extradata: dict[str, str] = {}

    def setExtraData(self, key: str, value: str) -> None:
        self.extradata[key] = value

    def saveSettings(self) -> None:
        pass


class VirtualBox:
    def __init__(self, host_arch: int) -> None:
        self.host = SimpleNamespace(architecture=host_arch)
        self.created: list[tuple[Any, ...]] = []
        self.registered: list[Machine] = []

    def createMachine(self, *args: Any) -> Machine:
        self.created.append(args)
        return Machine()

    def registerMachine(self, machine: Machine) -> None:
        self.registered.append(machine)


@pytest.mark.parametrize(("host", "platform", "os_type"), [(2, 2, "Linux_arm64"), (1, 1, "Linux_64")])
def test_an_empty_machine_is_of_the_hosts_family(host: int, platform: int, os_type: str) -> None:
    vbox = VirtualBox(host)
    ctx = SimpleNamespace(api=Api((7, 1)), vbox=vbox, const=CONST, driverless=False)
    spec = MachineSpec(name="web", vm_name="lab-web")
    create._skeleton(ctx, spec, Tags("lab", "web", "h", "0.1.0"), discard)  # type: ignore[arg-type]
    (_, name, arch, _, chosen, *_), = vbox.created
    assert (name, arch, chosen) == ("lab-web", platform, os_type)
    assert vbox.registered


def test_a_declared_os_type_is_kept() -> None:
    vbox = VirtualBox(2)
    ctx = SimpleNamespace(api=Api((7, 2)), vbox=vbox, const=CONST, driverless=False)
    spec = MachineSpec(name="web", vm_name="lab-web", os_type="Debian_arm64")
    create._skeleton(ctx, spec, Tags("lab", "web", "h", "0.1.0"), discard)  # type: ignore[arg-type]
    assert vbox.created[0][4] == "Debian_arm64"


def test_virtualbox_7_0_knows_x86_only() -> None:
    assert Api((7, 0)).host_architecture(VirtualBox(2), CONST) == "x86_64"
