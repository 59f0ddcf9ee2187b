"""Plan steps: plain data with a human description.

A step is one thing hosted would do to one machine.  ``noop`` steps carry the
reason nothing needs doing ("memory already 2048 MB"), like pyinfra's no-op
messages, so `hosted plan` explains itself.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from hosted.backend.base import RUNTIME_KEYS
from hosted.model import MachineSpec

Action = Literal["create", "change", "start", "resume", "stop", "destroy", "noop"]

# Keys whose change needs the machine powered off: all but the backend's runtime keys.
POWEROFF_KEYS = frozenset(MachineSpec.CONFIG_KEYS) - RUNTIME_KEYS

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
}


@dataclass(frozen=True)
class Step:
    machine: str  # the profile's machine name
    action: Action
    key: str | None = None  # for change/noop: the MachineSpec key
    old: str | None = None  # human-readable values
    new: str | None = None
    reason: str = ""  # for noop: why nothing is done; for others: why it is needed
    needs_poweroff: bool = False
    restart: bool = False  # a stop/start inserted only so that a change can be applied
    destructive: bool = False

    @property
    def needs_confirmation(self) -> bool:
        return self.destructive or self.restart

    def describe(self) -> str:
        if self.action == "noop":
            return self.reason
        if self.action == "change":
            label = KEY_LABELS.get(self.key or "", self.key or "")
            text = f"change {label}: {self.old} -> {self.new}"
            return text + (" (needs power-off)" if self.needs_poweroff else "")
        text = {
            "create": f"create {self.new}",
            "start": "start",
            "resume": "resume from saved state",
            "stop": "stop",
            "destroy": f"destroy {self.old}",
        }[self.action]
        return f"{text} ({self.reason})" if self.reason else text

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["description"] = self.describe()
        return data
