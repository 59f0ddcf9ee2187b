"""What ``up`` does inside a running guest: wait until it is ready, provision it,
and take the first baseline.  Each provisioning step says why it runs or not."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from hosted.backend.base import MachineRecords
from hosted.facts import Facts
from hosted.model import MachineSpec, ProvisionStep
from hosted.steps import (
    Noop,
    Provision,
    RebootGuest,
    SetAddresses,
    SetHostname,
    Step,
    TakeBaseline,
    WaitReady,
)

BASELINE = "baseline"


@dataclass(frozen=True)
class UpOptions:
    """What `up` does after starting a machine: wait for it, provision it."""
    wait: bool = True  # wait for SSH after starting (False: no guest steps at all)
    provision: bool = True
    force_provision: bool = False  # `hosted provision`: "once" steps run again too


def has_ssh_forward(spec: MachineSpec) -> bool:
    return any(f.guest == spec.ssh.port and f.protocol == "tcp" for f in spec.forwards())


def guest_steps(spec: MachineSpec, uuid: str | None, started: bool, facts: Facts,
                options: UpOptions, *, login_only: bool = False, network: Sequence[Step] = ()) -> list[Step]:
    """``started``: the plan starts or resumes the machine (it boots); ``uuid`` None: a new machine.
    ``network``: the guest's addresses and names, set after the wait, before provisioning."""
    if spec.state != "running":
        return []
    records = facts.records.get(uuid or "", MachineRecords())
    provision = [*network]
    for p in spec.provision:
        step = _provision(spec, p, records, uuid is None, facts, options)
        provision.append(step)
        if p.reboot and not step.is_noop:
            provision += [RebootGuest(machine=spec.name, after=p.name, timeout=spec.ready.ssh,
                                      reason=f"{p.name} says reboot: true"),
                          *(replace(s, reason="set again after the reboot") for s in network
                            if isinstance(s, SetAddresses | SetHostname))]
    baseline = _baseline(spec, uuid, facts, provision, options)
    work = [s for s in [*provision, *baseline] if not s.is_noop]
    if not options.wait:
        skipped = [Noop(machine=s.machine, subject=s.summary(), reason=f"{s.summary()}: skipped (--no-wait)")
                   for s in work]
        return [s for s in [*provision, *baseline] if s.is_noop] + skipped
    if not has_ssh_forward(spec) and not any(isinstance(s, Provision) for s in work):
        why = f"no NAT forward to guest port {spec.ssh.port}: not waiting for SSH"
        return [Noop(machine=spec.name, subject="ssh", reason=why),
                *(Noop(machine=spec.name, subject=s.summary(), reason=f"{s.summary()}: skipped ({why})")
                  for s in work)]
    if not work and not started:
        return [*provision, *baseline]
    wait = WaitReady(machine=spec.name, timeout=spec.ready.ssh, command=spec.ready.command,
                     login_only=login_only, reason="the machine was started" if started else "to work in it")
    return [wait, *provision, *baseline]


def _provision(spec: MachineSpec, step: ProvisionStep, records: MachineRecords, new: bool, facts: Facts,
               options: UpOptions) -> Step:
    label = f"provision {step.name}"
    if not options.provision:
        return Noop(machine=spec.name, subject=label, reason=f"{label}: skipped (--no-provision)")
    fingerprint = facts.fingerprints.get((spec.name, step.name))
    recorded = records.provisioned.get(step.name)
    if options.force_provision:
        why = "asked to run again"
    elif fingerprint is None:
        why = "its files cannot be read now"
    elif step.run == "always":
        why = "runs every time (run: always)"
    elif new or recorded is None:
        why = "not run on this machine yet"
    elif recorded != fingerprint:
        why = "changed since its last run"
    else:
        return Noop(machine=spec.name, subject=label, reason=f"{label}: already ran, unchanged (run: once)")
    return Provision(machine=spec.name, step=step.name, provisioner=step.kind, fingerprint=fingerprint or "",
                     reason=why)


def _baseline(spec: MachineSpec, uuid: str | None, facts: Facts, provision: list[Step],
              options: UpOptions) -> list[Step]:
    if not spec.baseline:
        return []
    if uuid is not None and any(s.name == BASELINE for s in facts.snapshots.get(uuid, ())):
        return [Noop(machine=spec.name, subject="baseline", reason=f"the {BASELINE!r} snapshot exists")]
    if not options.provision and spec.provision:
        return [Noop(machine=spec.name, subject="baseline",
                     reason=f"{BASELINE!r} not taken: provisioning is skipped (--no-provision)")]
    return [TakeBaseline(machine=spec.name, name=BASELINE, reason="the first time the machine is ready")]
