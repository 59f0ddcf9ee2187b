"""What running a plan did: one result per machine (and per image the host prepared)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hosted.errors import HostedError
from hosted.model import Forward


@dataclass
class MachineResult:
    """What a run did to one machine, or to one image, and how long each phase took."""
    machine: str  # the profile's machine name; for a host step, "image NAME"
    vm_name: str
    uuid: str | None
    changed: list[str] = field(default_factory=list)  # what was done, as the steps describe it
    phases: dict[str, float] = field(default_factory=dict)  # seconds per phase (configure, start, ready...)
    error: HostedError | None = None
    # The machine's NAT forwards as the run last read them (made, configured), ``host: auto`` ports
    # as chosen; None: the run did not read them.  Not part of the JSON.
    forwards: tuple[Forward, ...] | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_json(self) -> dict[str, Any]:
        error = None if self.error is None else {
            "message": self.error.message, "hint": self.error.hint, "exit_code": self.error.exit_code,
            "type": type(self.error).__name__}
        return {"machine": self.machine, "vm_name": self.vm_name, "uuid": self.uuid, "ok": self.ok,
                "changed": list(self.changed), "phases": {k: round(v, 3) for k, v in self.phases.items()},
                "error": error}


@dataclass
class RunResult:
    """What a run did, machine by machine."""
    environment: str
    operation: str
    machines: list[MachineResult]
    images: list[MachineResult] = field(default_factory=list)  # the host's image steps, one per image

    @property
    def ok(self) -> bool:
        return all(m.ok for m in [*self.images, *self.machines])

    @property
    def failed(self) -> list[MachineResult]:
        return [m for m in [*self.images, *self.machines] if not m.ok]

    @property
    def changed(self) -> bool:
        return any(m.changed for m in [*self.images, *self.machines])

    def machine(self, name: str) -> MachineResult | None:
        return next((m for m in self.machines if m.machine == name), None)

    def to_json(self) -> dict[str, Any]:
        return {"environment": self.environment, "operation": self.operation, "ok": self.ok,
                "changed": self.changed, "images": [m.to_json() for m in self.images],
                "machines": [m.to_json() for m in self.machines]}
