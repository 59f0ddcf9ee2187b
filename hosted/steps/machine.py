"""Steps on a machine's existence, configuration and power."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from hosted.steps.base import Step

StopMode = Literal["acpi", "poweroff"]

KEY_LABELS = {
    "os_type": "OS type",
    "cpus": "CPUs",
    "memory_mb": "memory",
    "disk_mb": "disk",
    "firmware": "firmware",
    "nics": "network adapters",
    "forwards": "port forwards",
    "shared_folders": "shared folders",
    "dvd": "DVD",
    "disks": "disks",
    "virtualbox.groups": "VirtualBox groups",
    "virtualbox.vram_mb": "VRAM",
    "virtualbox.graphics": "graphics controller",
    "virtualbox.audio": "audio",
    "virtualbox.clipboard": "clipboard",
    "virtualbox.drag_and_drop": "drag and drop",
    "virtualbox.nested_virtualization": "nested virtualization",
    "virtualbox.ioapic": "I/O APIC",
    "virtualbox.paravirt": "paravirtualization",
    "virtualbox.usb": "USB controller",
    "virtualbox.nic_promiscuous": "promiscuous mode",
    "virtualbox.nat_dns_host_resolver": "NAT DNS host resolver",
    "virtualbox.extradata": "extra data",
}


def key_label(key: str) -> str:
    return KEY_LABELS.get(key, key)


@dataclass(frozen=True)
class Change:
    """One configuration key that differs: values as people read them."""

    key: str  # a MachineSpec key, or "forwards"
    old: str
    new: str
    needs_poweroff: bool = False

    def describe(self) -> str:
        return f"{key_label(self.key)}: {self.old} -> {self.new}"


@dataclass(frozen=True, kw_only=True)
class Create(Step):
    """An empty machine, fully configured, registered with hosted's tags."""

    vm_name: str
    what: str = ""  # "Linux_64, 1 CPU, 256 MB, ..."
    install: bool = False  # made for an unattended install: recorded as pending at once
    kind: ClassVar[str] = "create"
    phase: ClassVar[str] = "configure"

    def summary(self) -> str:
        return f"create {self.vm_name}" + (f": {self.what}" if self.what else "")


@dataclass(frozen=True, kw_only=True)
class Configure(Step):
    """Every change of one machine, made under one lock with one save."""

    changes: tuple[Change, ...]
    kind: ClassVar[str] = "configure"
    phase: ClassVar[str] = "configure"
    repeatable: ClassVar[bool] = True

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.changes)

    @property
    def needs_poweroff(self) -> bool:
        return any(c.needs_poweroff for c in self.changes)

    def summary(self) -> str:
        text = "change " + "; ".join(c.describe() for c in self.changes)
        return text + (" (needs power-off)" if self.needs_poweroff else "")


@dataclass(frozen=True, kw_only=True)
class Start(Step):
    """Start a machine."""
    restart: bool = False  # the second half of a stop/start that applies a change
    gui: bool = False  # with a window (virtualbox.gui), else headless
    kind: ClassVar[str] = "start"
    phase: ClassVar[str] = "start"
    repeatable: ClassVar[bool] = True

    def summary(self) -> str:
        return "start with a window" if self.gui else "start"


@dataclass(frozen=True, kw_only=True)
class Stop(Step):
    """Stop a machine: an ACPI shutdown, or power off at once."""
    mode: StopMode = "acpi"  # ACPI shutdown (power off after ``timeout``), or power off at once
    timeout: float = 60.0
    restart: bool = False  # stopped only so that a change can be applied: started again after
    discards: bool = False  # throws away a saved (suspended) state
    kind: ClassVar[str] = "stop"
    phase: ClassVar[str] = "stop"
    repeatable: ClassVar[bool] = True

    @property
    def needs_confirmation(self) -> bool:
        return self.restart or self.discards

    def summary(self) -> str:
        return "power off" if self.mode == "poweroff" else "shut down"


@dataclass(frozen=True, kw_only=True)
class Suspend(Step):
    """Save a running machine's state and stop it."""
    kind: ClassVar[str] = "suspend"
    phase: ClassVar[str] = "suspend"
    repeatable: ClassVar[bool] = True

    def summary(self) -> str:
        return "suspend (save the running state)"


@dataclass(frozen=True, kw_only=True)
class Resume(Step):
    """Start a machine from its saved state."""
    kind: ClassVar[str] = "resume"
    phase: ClassVar[str] = "start"
    repeatable: ClassVar[bool] = True

    def summary(self) -> str:
        return "resume from the saved state"


@dataclass(frozen=True, kw_only=True)
class Destroy(Step):
    """Power off, unregister, delete the settings and the disks hosted made; forget its pins."""

    vm_name: str
    kind: ClassVar[str] = "destroy"
    phase: ClassVar[str] = "destroy"

    @property
    def needs_confirmation(self) -> bool:
        return True

    def summary(self) -> str:
        return f"destroy {self.vm_name}"


@dataclass(frozen=True, kw_only=True)
class SetUpSharedDisk(Step):
    """A shareable disk of the environment, created once (fixed-size) before the machines that
    attach it; a step of the host."""

    disk: str
    size_mb: int
    machines: tuple[str, ...]
    kind: ClassVar[str] = "set-up-shared-disk"
    phase: ClassVar[str] = "configure"
    repeatable: ClassVar[bool] = True

    @property
    def lane(self) -> str:
        return f"disk {self.disk}"

    def summary(self) -> str:
        return f"make sure the shareable disk {self.disk} ({self.size_mb} MB, fixed) exists for " + \
            ", ".join(self.machines)
