"""A plan: every step a command will take, as data.

Steps of the host (fetching and importing images) come first and run once;
then each machine's steps, in order (machines are independent of each other).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from hosted.model import MachineSpec
from hosted.steps import Configure, Step

PLAN_OPERATIONS = ("up", "reload", "provision", "halt", "suspend", "resume", "destroy", "snapshot-save",
                   "snapshot-restore", "snapshot-delete", "snapshot-push", "snapshot-pop", "reset")


@dataclass(frozen=True)
class MachinePlan:
    """The steps of one machine, with its spec and how VirtualBox differs from it."""
    machine: str  # the profile's machine name (or, for a machine gone from it, its tag)
    vm_name: str
    uuid: str | None  # None: the machine does not exist yet
    steps: tuple[Step, ...]
    spec: MachineSpec | None = None  # None for machines gone from the profile

    @property
    def actions(self) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if not s.is_noop)

    @property
    def drift(self) -> tuple[str, ...]:
        """How the machine differs from the profile, as `hosted status` shows it."""
        return tuple(c.describe() + (" (needs power-off)" if c.needs_poweroff else "")
                     for s in self.steps if isinstance(s, Configure) for c in s.changes)


@dataclass(frozen=True)
class Plan:
    """Everything a command will do, as data: the host's steps, each machine's, and those after."""
    environment: str
    operation: str = "up"
    machines: tuple[MachinePlan, ...] = ()
    images: tuple[Step, ...] = ()  # steps of the host, run once before the machines
    warnings: tuple[str, ...] = field(default=())
    after: tuple[Step, ...] = ()  # steps of the environment, run once after the machines (ansible)

    @property
    def steps(self) -> Iterator[Step]:
        yield from self.images
        for m in self.machines:
            yield from m.steps
        yield from self.after

    @property
    def has_actions(self) -> bool:
        return any(not s.is_noop for s in self.steps)

    def needing_confirmation(self) -> list[str]:
        """One line per step that must be confirmed before anything runs."""
        return [f"{m.machine} ({m.vm_name}): {s.describe()}"
                for m in self.machines for s in m.steps if s.needs_confirmation]

    def machine(self, name: str) -> MachinePlan | None:
        return next((m for m in self.machines if m.machine == name), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "operation": self.operation,
            "warnings": list(self.warnings),
            "images": [s.to_json() for s in self.images],
            "machines": [
                {"machine": m.machine, "vm_name": m.vm_name, "uuid": m.uuid,
                 "steps": [s.to_json() for s in m.steps]}
                for m in self.machines
            ],
            "after": [s.to_json() for s in self.after],
            "actions": sum(1 for s in self.steps if not s.is_noop),
        }
