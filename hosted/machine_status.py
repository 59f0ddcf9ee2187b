"""`hosted status` as data: each machine's power state, drift from the profile,
forwarded ports and where to reach it over SSH."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hosted import render
from hosted.backend.base import Backend
from hosted.facts import Facts
from hosted.model import Environment, Forward, ObservedMachine, PowerState
from hosted.planner import plan
from hosted.planner.guest import UpOptions

if TYPE_CHECKING:  # status does not load the runner
    from hosted.run import RunResult


@dataclass(frozen=True)
class SshEndpoint:
    """Where to reach a machine over SSH."""
    host: str
    port: int
    user: str


@dataclass(frozen=True)
class MachineStatus:
    """One machine's row of `hosted status`."""
    machine: str
    vm_name: str
    uuid: str | None
    exists: bool
    in_profile: bool
    power: str  # a PowerState value, or "not created"
    desired: str  # "running", "poweroff", or "absent" (gone from the profile)
    drift: tuple[str, ...]  # how VirtualBox differs from the profile
    forwards: tuple[Forward, ...]
    ssh: SshEndpoint | None
    addresses: tuple[str, ...] = ()  # "10.20.0.11/24 on internal labnet": the declared, resolved ones

    def to_json(self) -> dict[str, Any]:
        return {
            "machine": self.machine, "vm_name": self.vm_name, "uuid": self.uuid, "exists": self.exists,
            "in_profile": self.in_profile, "power": self.power, "desired": self.desired,
            "drift": list(self.drift),
            "forwards": [{"name": f.name, "host_ip": f.host_ip, "host": f.host, "guest": f.guest,
                          "protocol": f.protocol} for f in self.forwards],
            "ssh": None if self.ssh is None else
            {"host": self.ssh.host, "port": self.ssh.port, "user": self.ssh.user},
            "addresses": list(self.addresses),
        }


def machine_status(env: Environment, observed: Sequence[ObservedMachine],
                   names: Sequence[str] = ()) -> list[MachineStatus]:
    """Every machine of the profile (or ``names``), and those of the environment gone from it."""
    from hosted.ssh import ssh_endpoint

    # Host-only ranges are `hosted plan`'s to check: status shows what there is.
    facts = Facts(machines=tuple(observed), hostonly_ranges=("0.0.0.0/0",))
    the_plan = plan(env, facts, only=tuple(names), options=UpOptions(wait=False, provision=False))
    by_uuid = {m.uuid: m for m in observed}
    rows = []
    for mp in the_plan.machines:
        cur = by_uuid.get(mp.uuid or "")
        spec = mp.spec
        endpoint = ssh_endpoint(cur, spec) if cur is not None and spec is not None else None
        rows.append(MachineStatus(
            machine=mp.machine, vm_name=mp.vm_name, uuid=mp.uuid, exists=cur is not None,
            in_profile=spec is not None, power=cur.power.value if cur else "not created",
            desired=spec.state if spec else "absent", drift=mp.drift,
            forwards=cur.forwards() if cur else (),
            ssh=None if endpoint is None or spec is None else SshEndpoint(*endpoint, spec.ssh.user),
            addresses=tuple(render.address(n) for n in (spec.nics or ()) if n.ip) if spec else (),
        ))
    return rows


def endpoints(env: Environment, backend: Backend, result: RunResult) -> list[tuple[str, str, str, int]]:
    """(machine, user, host, port) to reach each machine of ``result`` that the profile wants
    running, over SSH.  Decided from the profile where it declares the NICs: no forward to the
    SSH port, nothing to read; a fixed host port is where it is.  A ``host: auto`` port is as the run read it
    (``MachineResult.forwards``), read from VirtualBox only when the run did not."""
    from hosted.ssh import endpoint_of, forward_to_ssh

    out = []
    for m in result.machines:
        spec = env.machine(m.machine)
        if spec is None or spec.state != "running" or not m.uuid:
            continue
        forwards = m.forwards  # NICs the profile leaves undeclared: as VirtualBox has them
        if spec.nics is not None:
            wanted = forward_to_ssh(spec.forwards(), spec)
            if wanted is None:
                continue
            forwards = spec.forwards() if wanted.host is not None else m.forwards
        if forwards is None:
            observed = backend.get_machine(m.uuid)
            if observed is None or observed.power != PowerState.RUNNING:
                continue
            forwards = observed.forwards()
        endpoint = endpoint_of(forwards, spec)
        if endpoint is not None:
            out.append((m.machine, spec.ssh.user, *endpoint))
    return out
