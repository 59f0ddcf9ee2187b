"""Small builders for desired and observed machines in pure tests."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hosted.model import (
    Environment,
    Forward,
    MachineSpec,
    Nic,
    ObservedMachine,
    PowerState,
    SharedFolder,
    Tags,
)

ENV = "demo"


def spec(name: str = "web", **kw: Any) -> MachineSpec:
    kw.setdefault("vm_name", f"{ENV}-{name}")
    return MachineSpec(name=name, **kw)


def env(*specs: MachineSpec, name: str = ENV) -> Environment:
    return Environment(name=name, path="/p/hosted.yaml", machines=tuple(specs))


def observed(name: str = "web", *, owned: bool = True, environment: str = ENV, **kw: Any) -> ObservedMachine:
    base = ObservedMachine(
        uuid=f"uuid-{environment}-{name}",
        vm_name=f"{environment}-{name}",
        tags=Tags(environment, name, "x", "0") if owned else None,
        power=PowerState.POWEROFF,
        os_type="Linux_64",
        cpus=1,
        memory_mb=1024,
        firmware="bios",
        nics=(Nic("nat"),),
        shared_folders=(),
    )
    return replace(base, **kw)


def nat(*forwards: Forward) -> Nic:
    return Nic("nat", forwards=forwards)


def fwd(guest: int, host: int | None, name: str | None = None) -> Forward:
    return Forward(name=name or f"tcp{guest}", guest=guest, host=host)


def share(name: str = "src", host: str = "/p/src", guest: str = "/srv/src") -> SharedFolder:
    return SharedFolder(name=name, host=host, guest=guest)
