"""`hosted list` as data: every environment and machine hosted made on this host, from the
tags VirtualBox holds (no profile needed, nothing remembered locally, so never stale)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from hosted.model import Forward, ObservedMachine


@dataclass(frozen=True)
class HostMachine:
    """A machine of some environment on this host, as `hosted list` shows it."""
    environment: str
    machine: str  # the profile's name for it
    vm_name: str
    uuid: str
    power: str  # a PowerState value
    forwards: tuple[Forward, ...]
    hosted_version: str  # the hosted that last wrote its tags

    def to_json(self) -> dict[str, Any]:
        return {"machine": self.machine, "vm_name": self.vm_name, "uuid": self.uuid, "power": self.power,
                "forwards": [{"name": f.name, "host_ip": f.host_ip, "host": f.host, "guest": f.guest,
                              "protocol": f.protocol} for f in self.forwards],
                "hosted_version": self.hosted_version}


@dataclass(frozen=True)
class EnvironmentSummary:
    """An environment on this host and its machines, as `hosted list` shows it."""
    name: str
    machines: tuple[HostMachine, ...]

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "machines": [m.to_json() for m in self.machines]}


def host_environments(observed: Iterable[ObservedMachine]) -> list[EnvironmentSummary]:
    """The machines hosted owns, grouped by environment; both sorted by name."""
    groups: dict[str, list[HostMachine]] = {}
    for m in observed:
        if m.tags is None:
            continue
        groups.setdefault(m.tags.environment, []).append(HostMachine(
            environment=m.tags.environment, machine=m.tags.machine, vm_name=m.vm_name, uuid=m.uuid,
            power=m.power.value, forwards=m.forwards(), hosted_version=m.tags.hosted_version))
    return [EnvironmentSummary(name, tuple(sorted(machines, key=lambda h: (h.machine, h.vm_name))))
            for name, machines in sorted(groups.items())]
