"""Planning what labs need across machines (pure): shareable disks, made once before the machines
that attach them, and ``ansible:`` runs, once after the machines they target."""

from __future__ import annotations

from collections.abc import Sequence

from hosted.backend.base import MachineRecords
from hosted.facts import Facts
from hosted.model import Environment
from hosted.planner.guest import UpOptions
from hosted.planner.model import MachinePlan
from hosted.steps import Clone, Configure, Create, Noop, RunAnsible, SetUpSharedDisk, Step

ANSIBLE_RECORD = "ansible:"  # + the run's name: its fingerprint, recorded on each machine it ran on


def shared_disk_steps(env: Environment, plans: Sequence[MachinePlan]) -> list[Step]:
    """One step per shareable disk a machine of this plan attaches (a new machine, or a change
    of its disks); the disk is created then, once, whatever the number of machines."""
    attaching = {mp.machine for mp in plans if mp.spec is not None and any(
        isinstance(s, Create | Clone) or (isinstance(s, Configure) and "disks" in s.keys) for s in mp.steps)}
    steps: list[Step] = []
    seen: set[str] = set()
    for spec in env.machines:
        for disk in spec.disks or ():
            if not disk.shareable or disk.name in seen or spec.name not in attaching:
                continue
            seen.add(disk.name)
            users = tuple(m.name for m in env.machines if any(d.shareable and d.name == disk.name
                                                               for d in m.disks or ()))
            steps.append(SetUpSharedDisk(machine="", disk=disk.name, size_mb=disk.size_mb, machines=users,
                                         reason="a machine attaches it"))
    return steps


def targets(env: Environment, limit: Sequence[str]) -> tuple[str, ...]:
    """The machines ``limit`` names (machine names, groups, ``all``), in profile order."""
    if not limit or "all" in limit:
        return tuple(m.name for m in env.machines)
    return tuple(m.name for m in env.machines if m.name in limit or set(m.groups) & set(limit))


def ansible_steps(env: Environment, facts: Facts, plans: Sequence[MachinePlan],
                  options: UpOptions) -> list[Step]:
    """Each ``ansible:`` run whose machines run: once its playbook (or the run) changed, on a
    machine new or not run on yet, or every time with ``run: always``."""
    steps: list[Step] = []
    running = {mp.machine for mp in plans if mp.spec is not None and mp.spec.state == "running"}
    uuids = {mp.machine: mp.uuid for mp in plans}
    for run in env.ansible:
        label = f"ansible {run.name}"
        machines = tuple(m for m in targets(env, run.limit) if m in running)
        if not machines:
            steps.append(Noop(machine="", subject=label, reason=f"{label}: none of its machines runs"))
            continue
        if not options.provision or not options.wait:
            why = "--no-provision" if not options.provision else "--no-wait"
            steps.append(Noop(machine="", subject=label, reason=f"{label}: skipped ({why})"))
            continue
        fp = facts.fingerprints.get(("", ANSIBLE_RECORD + run.name))
        recorded = {m: facts.records.get(uuids.get(m) or "", MachineRecords()).provisioned.get(
            ANSIBLE_RECORD + run.name) if uuids.get(m) else None for m in machines}
        why = _why(run.run, fp, recorded, options)
        if not why:
            steps.append(Noop(machine="", subject=label, reason=f"{label}: already ran, unchanged"))
            continue
        steps.append(RunAnsible(machine="", name=run.name, playbook=run.playbook, machines=machines,
                                fingerprint=fp or "", reason=why))
    return steps


def _why(run: str, fp: str | None, recorded: dict[str, str | None], options: UpOptions) -> str:
    if options.force_provision:
        return "asked to run again"
    if fp is None:
        return "its playbook cannot be read now"
    if run == "always":
        return "runs every time (run: always)"
    new = [m for m, r in recorded.items() if r is None]
    if new:
        return "not run on " + ", ".join(new) + " yet"
    return "changed since its last run" if any(r != fp for r in recorded.values()) else ""
