"""One environment per pytest-xdist worker: the profile's environment with a name
suffix, its own VM names and internal networks, and every forward on an
automatic host port, so parallel workers never share a machine or a port."""

from __future__ import annotations

from dataclasses import replace

from hosted.model import Environment, MachineSpec, Nic


def for_worker(env: Environment, worker: str) -> Environment:
    """``env`` for the xdist worker ``worker`` ("gw0"); unchanged for "" (no xdist)."""
    if not worker:
        return env
    name = f"{env.name}-{worker}"
    return replace(env, name=name, machines=tuple(_machine(env, m, name, worker) for m in env.machines))


def _machine(env: Environment, spec: MachineSpec, name: str, worker: str) -> MachineSpec:
    default = spec.vm_name == f"{env.name}-{spec.name}"
    vm_name = f"{name}-{spec.name}" if default else f"{spec.vm_name}-{worker}"
    nics = None if spec.nics is None else tuple(_nic(n, worker) for n in spec.nics)
    return replace(spec, vm_name=vm_name, nics=nics)


def _nic(nic: Nic, worker: str) -> Nic:
    network = f"{nic.network}-{worker}" if nic.kind == "internal" and nic.network else nic.network
    return replace(nic, network=network, forwards=tuple(replace(f, host=None) for f in nic.forwards))
