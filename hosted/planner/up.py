"""Planning ``up`` (and ``reload`` and ``provision``): from the profile and the facts to
every step that makes VirtualBox, and the guests, match the profile.  Pure: no I/O.

Per machine: create it (empty, cloned from an image's template, or prepared to
install from an ISO) or compare its configuration; power steps (a change that
needs the machine off on a running machine gets a stop/start pair, confirmed
first); then the guest steps (wait, addresses and names, provision, baseline).
Machines of the environment gone from the profile are destroyed (confirmed first).
The networks (``planner.network``) are worked out first: the machines are planned
with their addresses, MACs and link ports resolved, and the host's network steps
run before the machines'.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from hosted.conflicts import check_ports
from hosted.errors import NameConflict
from hosted.facts import Facts
from hosted.model import Environment, MachineSpec, ObservedMachine, PowerState
from hosted.planner.config import config_steps
from hosted.planner.guest import UpOptions, guest_steps
from hosted.planner.images import creation_steps, host_steps, is_install
from hosted.planner.labs import ansible_steps, shared_disk_steps
from hosted.planner.model import MachinePlan, Plan
from hosted.planner.netguest import check_driver, hosts_entries, network_guest_steps, unused, with_removals
from hosted.planner.network import Resolved, resolve
from hosted.planner.power import destroy_steps
from hosted.steps import (
    Configure,
    InstallFromIso,
    Noop,
    ReserveLinkPorts,
    Resume,
    Start,
    Step,
    Stop,
    WriteSeed,
    key_label,
)


def plan(environment: Environment, facts: Facts, *, only: Sequence[str] = (),
         options: UpOptions | None = None, operation: str = "up") -> Plan:
    """Steps that make VirtualBox match ``environment``.

    ``only`` limits the plan to those machine names (machines gone from the
    profile are then left alone).  Raises NameConflict when a machine to create
    would take a VirtualBox name another machine has, and PortConflict when a
    fixed host port is another machine's forward.
    """
    options = options or UpOptions()
    check_ports(environment, facts.machines, only)
    warnings: list[str] = list(getattr(environment, "warnings", ()))
    owned = facts.owned(environment.name)
    nets = resolve(environment, facts)
    warnings += nets.warnings
    specs = [nets.specs[s.name] for s in environment.machines if not only or s.name in only]
    machines = [_plan_machine(environment, s, owned, facts, options, warnings, nets) for s in specs]
    if not only:
        machines += _orphans(environment, owned)
    machines = with_removals(environment, facts, machines, nets)
    check_driver(facts, machines, warnings)
    images = host_steps(facts, [s for m in machines for s in m.steps])
    host = [s for s in nets.host if _in_scope(s, only)] + (unused(facts, nets) if not only else [])
    host += shared_disk_steps(environment, machines)
    after = ansible_steps(environment, facts, machines, options) if not only else []
    return Plan(environment.name, operation, tuple(machines), (*host, *images), tuple(warnings), tuple(after))


def _in_scope(step: Step, only: Sequence[str]) -> bool:
    """A link's ports are chosen only when one of its machines is planned."""
    return not only or not isinstance(step, ReserveLinkPorts) or bool(set(step.machines) & set(only))


def plan_reload(environment: Environment, facts: Facts, *, only: Sequence[str] = (),
                options: UpOptions | None = None, timeout: float = 60.0) -> Plan:
    """Shut running machines down, then everything ``up`` would do to machines that are off."""
    stopping = {m.uuid for m in facts.owned(environment.name) if m.power.is_on
                and (not only or (m.tags is not None and m.tags.machine in only))}
    off = tuple(replace(m, power=PowerState.POWEROFF) if m.uuid in stopping else m for m in facts.machines)
    up = plan(environment, replace(facts, machines=off), only=only, options=options, operation="reload")
    return replace(up, machines=tuple(
        replace(mp, steps=(Stop(machine=mp.machine, mode="acpi", timeout=timeout, reason="reload"),
                           *mp.steps))
        if mp.uuid in stopping and mp.spec is not None else mp
        for mp in up.machines))


def _plan_machine(env: Environment, spec: MachineSpec, owned: Sequence[ObservedMachine], facts: Facts,
                  options: UpOptions, warnings: list[str], nets: Resolved) -> MachinePlan:
    current = _match(spec, owned, warnings)
    if current is None:
        _check_name_free(spec, facts.machines)
        steps = creation_steps(env, spec, facts)
        seeded = any(isinstance(s, WriteSeed) for s in steps)
        steps = [replace(s, hosts=hosts_entries(spec, list(nets.specs.values())))
                 if isinstance(s, WriteSeed) else s for s in steps]
        if spec.state == "running":
            network = network_guest_steps(spec, None, True, seeded, facts, nets)
            steps += [Start(machine=spec.name, reason="desired state is running", gui=spec.gui),
                      *guest_steps(spec, None, True, facts, options, network=network)]
        return MachinePlan(spec.name, spec.vm_name, None, tuple(steps), spec)
    if not current.accessible:
        warnings.append(f"{spec.name}: VirtualBox cannot read {current.vm_name}'s settings; left alone")
        return MachinePlan(spec.name, current.vm_name, current.uuid, (), spec)
    if current.vm_name != spec.vm_name:
        warnings.append(
            f"{spec.name}: VirtualBox name is {current.vm_name!r} (renamed outside hosted?), "
            f"profile says {spec.vm_name!r}; the machine is still found by its tags"
        )
    steps = config_steps(spec, current, warnings)
    steps, started = _with_power(spec, current, steps)
    steps = _finish_install(spec, current, facts, steps)
    network = network_guest_steps(spec, current.uuid, started, False, facts, nets)
    steps += guest_steps(spec, current.uuid, started, facts, options, network=network)
    return MachinePlan(spec.name, current.vm_name, current.uuid, tuple(steps), spec)


def _match(spec: MachineSpec, owned: Sequence[ObservedMachine],
           warnings: list[str]) -> ObservedMachine | None:
    found = [m for m in owned if m.tags is not None and m.tags.machine == spec.name]
    if len(found) > 1:
        # A clone made in the GUI copies extradata, so it carries the same tags.
        found.sort(key=lambda m: m.vm_name != spec.vm_name)
        others = ", ".join(m.vm_name for m in found[1:])
        warnings.append(f"{spec.name}: also tagged as this machine (copies?): {others}; ignored")
    return found[0] if found else None


def _check_name_free(spec: MachineSpec, observed: Sequence[ObservedMachine]) -> None:
    for m in observed:
        if m.vm_name != spec.vm_name:
            continue
        owner = "is not managed by hosted" if m.tags is None else (
            f"belongs to environment {m.tags.environment!r} (machine {m.tags.machine!r})"
        )
        raise NameConflict(
            f"machine {spec.name!r}: the VirtualBox name {spec.vm_name!r} is taken by a machine that {owner}",
            "set `vm_name:` for this machine in the profile, or rename the existing VirtualBox machine",
        )


def _with_power(spec: MachineSpec, cur: ObservedMachine, steps: list[Step]) -> tuple[list[Step], bool]:
    """The configuration steps with the power steps around them; True when the machine is started."""
    name = spec.name
    configure = next((s for s in steps if isinstance(s, Configure)), None)
    offline = [c for c in configure.changes if c.needs_poweroff] if configure else []
    online = cur.power.is_on or cur.power in (PowerState.STARTING, PowerState.RESTORING)
    if spec.state == "poweroff":
        if online:
            return [Stop(machine=name, reason="desired state is poweroff"), *steps], False
        return [*steps, Noop(machine=name, subject="state", reason=f"already {cur.power.value}")], False
    if offline and (online or cur.power == PowerState.SAVED):
        why = "to apply: " + ", ".join(key_label(c.key) for c in offline)
        # A saved state cannot survive a hardware change: stopping discards it.
        lost = cur.power == PowerState.SAVED
        stop = Stop(machine=name, reason=("discards the saved state " + why) if lost else why, restart=True,
                    discards=lost)
        return [stop, *steps, Start(machine=name, reason=why, restart=True, gui=spec.gui)], True
    if online:
        return [*steps, Noop(machine=name, subject="state", reason="already running")], False
    if cur.power == PowerState.SAVED:
        return [*steps, Resume(machine=name, reason="desired state is running")], True
    return [*steps, Start(machine=name, reason="desired state is running", gui=spec.gui)], True


def _finish_install(spec: MachineSpec, cur: ObservedMachine, facts: Facts, steps: list[Step]) -> list[Step]:
    """A machine made for an unattended install whose preparation never ran (a crash): before it starts."""
    records = facts.records.get(cur.uuid)
    if spec.image is None or records is None or records.install != "pending" or not is_install(spec, facts):
        return steps
    prepare = InstallFromIso(machine=spec.name, image=spec.image, reason="its preparation never finished")
    at = next((i for i, s in enumerate(steps) if isinstance(s, Start | Resume)), len(steps))
    return [*steps[:at], prepare, *steps[at:]]


def _orphans(environment: Environment, owned: Sequence[ObservedMachine]) -> list[MachinePlan]:
    names = {m.name for m in environment.machines}
    gone = [m for m in owned if m.tags is not None and m.tags.machine not in names]
    return destroy_steps(gone, "no longer in the profile")


