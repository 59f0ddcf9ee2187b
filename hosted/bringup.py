"""What `hosted up` does after a machine runs: staged readiness, then
provisioning, then (with ``baseline: true``) the first baseline snapshot.

``after_start(...)`` builds the hook that ``apply`` calls for every machine
whose desired state is running.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from hosted import paths
from hosted.backend.base import Backend
from hosted.errors import ProvisionError
from hosted.events import Emit, Event
from hosted.model import ANY_ADDRESSES, Environment, Forward, MachineSpec, ObservedMachine
from hosted.provision import provision
from hosted.readiness import REAL_CLOCK, Clock, wait_ready
from hosted.ssh import SshSession, SshTarget, target_for

# Takes the baseline snapshot when the machine has none yet; True when it did.
Baseline = Callable[[Backend, str, str, Emit], bool]


@dataclass(frozen=True)
class BringUp:
    wait: bool = True
    provision: bool = True
    force_provision: bool = False  # `hosted provision`: run "once" steps again
    clock: Clock = REAL_CLOCK
    baseline: Baseline | None = None


def ssh_forward(machine: ObservedMachine, spec: MachineSpec) -> Forward | None:
    """The NAT forward that reaches the machine's SSH port, as ``machine`` was observed."""
    return next((f for f in machine.forwards() if f.guest == spec.ssh.port and f.protocol == "tcp"), None)


def ssh_endpoint(machine: ObservedMachine, spec: MachineSpec) -> tuple[str, int] | None:
    """(host address, port) to reach the machine's SSH port from this host, if it is forwarded."""
    fwd = ssh_forward(machine, spec)
    if fwd is None or fwd.host is None:
        return None
    if fwd.host_ip in ANY_ADDRESSES:  # listens everywhere: reach it on loopback
        return ("::1" if fwd.host_ip == "::" else "127.0.0.1"), fwd.host
    return fwd.host_ip, fwd.host


def ssh_target(env: Environment, machine: ObservedMachine, spec: MachineSpec) -> SshTarget | None:
    endpoint = ssh_endpoint(machine, spec)
    return None if endpoint is None else target_for(env.name, spec.name, *endpoint, spec.ssh)


def current_ssh_target(env: Environment, backend: Backend, uuid: str, spec: MachineSpec) -> SshTarget | None:
    """The target as VirtualBox has it now (apply may just have changed the forwards)."""
    machine = backend.get_machine(uuid)
    return None if machine is None else ssh_target(env, machine, spec)


def after_start(env: Environment, backend: Backend, options: BringUp) -> Callable[
        [MachineSpec, str, Emit], dict[str, float]]:
    def hook(spec: MachineSpec, uuid: str, emit: Emit) -> dict[str, float]:
        if not options.wait:
            return {}
        target = current_ssh_target(env, backend, uuid, spec)
        if target is None:
            if spec.provision and options.provision:
                raise ProvisionError(
                    f"{spec.name}: cannot provision: no NAT forward to guest port {spec.ssh.port}",
                    f"add a forward such as {{name: ssh, guest: {spec.ssh.port}, host: auto}} to a nat NIC",
                )
            emit(Event("info", f"no forward to guest port {spec.ssh.port}: not waiting for SSH",
                       machine=spec.name))
            return {}
        timings: dict[str, float] = {}
        t0 = time.monotonic()
        session = wait_ready(backend, uuid, spec.name, target, spec.ready, emit,
                             clock=options.clock, timings=timings)
        phases = {"ready": time.monotonic() - t0}
        with session:
            phases.update(_provision(env, backend, uuid, spec, session, emit, options))
        if spec.baseline and options.baseline is not None:
            t1 = time.monotonic()
            if options.baseline(backend, uuid, spec.name, emit):
                phases["baseline"] = time.monotonic() - t1
        return phases

    return hook


def _provision(
    env: Environment, backend: Backend, uuid: str, spec: MachineSpec, session: SshSession, emit: Emit,
    options: BringUp,
) -> dict[str, float]:
    if not (options.provision and spec.provision):
        return {}
    t0 = time.monotonic()
    log = paths.machine_dir(env.name, spec.name) / "provision.log"
    ran = provision(session, backend, uuid, spec.name, spec.provision, emit, log,
                    force=options.force_provision)
    return {"provision": time.monotonic() - t0} if ran else {}
