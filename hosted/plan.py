"""Pure planning: compare what the profile declares with what VirtualBox has.

``plan(environment, observed)`` returns a Plan of Steps and does no I/O.  Only
keys the profile declares are compared; values VirtualBox assigns (UUIDs, MAC
addresses, defaults the profile does not mention) never produce steps.  An
``host: auto`` forward is satisfied by whatever port it already has.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hosted import render
from hosted.conflicts import check_ports
from hosted.errors import NameConflict
from hosted.model import Environment, MachineSpec, Nic, ObservedMachine, PowerState
from hosted.steps import KEY_LABELS, POWEROFF_KEYS, Step


@dataclass(frozen=True)
class MachinePlan:
    machine: str
    vm_name: str
    uuid: str | None  # None: the machine does not exist yet
    steps: tuple[Step, ...]
    spec: MachineSpec | None = None  # None for machines gone from the profile

    @property
    def actions(self) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if s.action != "noop")

    @property
    def changes(self) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if s.action == "change")


@dataclass(frozen=True)
class Plan:
    environment: str
    machines: tuple[MachinePlan, ...]
    warnings: tuple[str, ...] = field(default=())

    @property
    def has_actions(self) -> bool:
        return any(m.actions for m in self.machines)

    def needing_confirmation(self) -> list[tuple[MachinePlan, Step]]:
        return [(m, s) for m in self.machines for s in m.steps if s.needs_confirmation]

    def to_json(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "warnings": list(self.warnings),
            "machines": [
                {
                    "machine": m.machine,
                    "vm_name": m.vm_name,
                    "uuid": m.uuid,
                    "steps": [s.to_json() for s in m.steps],
                }
                for m in self.machines
            ],
        }


def plan(
    environment: Environment,
    observed: Sequence[ObservedMachine],
    *,
    only: Sequence[str] = (),
) -> Plan:
    """Steps that make VirtualBox match ``environment``.

    ``only`` limits the plan to those machine names (and then machines gone
    from the profile are left alone).  Raises NameConflict when a machine to
    create would take a VirtualBox name that another machine already has, and
    PortConflict when a fixed host port is another machine's forward.
    """
    check_ports(environment, observed, only)
    warnings: list[str] = []
    owned = [m for m in observed if m.tags is not None and m.tags.environment == environment.name]
    specs = [s for s in environment.machines if not only or s.name in only]
    plans = [_plan_machine(spec, owned, observed, warnings) for spec in specs]
    if not only:
        plans += _orphans(environment, owned)
    return Plan(environment.name, tuple(plans), tuple(warnings))


def _plan_machine(
    spec: MachineSpec,
    owned: Sequence[ObservedMachine],
    observed: Sequence[ObservedMachine],
    warnings: list[str],
) -> MachinePlan:
    current = _match(spec, owned, warnings)
    if current is None:
        _check_name_free(spec, observed)
        steps = [Step(spec.name, "create", new=spec.vm_name, reason=_summary(spec))]
        if spec.state == "running":
            steps.append(Step(spec.name, "start", reason="desired state is running"))
        return MachinePlan(spec.name, spec.vm_name, None, tuple(steps), spec)
    if not current.accessible:
        warnings.append(f"{spec.name}: VirtualBox cannot read {current.vm_name}'s settings; left alone")
        return MachinePlan(spec.name, current.vm_name, current.uuid, (), spec)
    if current.vm_name != spec.vm_name:
        warnings.append(
            f"{spec.name}: VirtualBox name is {current.vm_name!r} (renamed outside hosted?), "
            f"profile says {spec.vm_name!r}; the machine is still found by its tags"
        )
    steps = _config_steps(spec, current, warnings)
    steps = _with_power(spec, current, steps)
    return MachinePlan(spec.name, current.vm_name, current.uuid, tuple(steps), spec)


def _match(
    spec: MachineSpec, owned: Sequence[ObservedMachine], warnings: list[str]
) -> ObservedMachine | None:
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


def _summary(spec: MachineSpec) -> str:
    if spec.image is not None and spec.install is not None:
        parts = [f"unattended install from image {spec.image}"] + ([spec.os_type] if spec.os_type else [])
    elif spec.image is not None:
        how = "linked clone" if spec.linked else "full clone"
        parts = [f"{how} of image {spec.image}"] + ([spec.os_type] if spec.os_type else [])
    else:
        parts = [spec.os_type or "Linux_64"]
    if spec.cpus:
        parts.append(f"{spec.cpus} CPU" + ("s" if spec.cpus > 1 else ""))
    if spec.memory_mb:
        parts.append(render.mb(spec.memory_mb))
    if spec.disk_mb:
        parts.append(f"{render.mb(spec.disk_mb)} disk")
    if spec.nics is not None:
        parts.append(render.nics(spec.nics))
    return ", ".join(parts)


Comparer = Callable[[MachineSpec, ObservedMachine], "tuple[bool, str, str] | None"]


def _scalar(key: str, fmt: Callable[[Any], str]) -> Comparer:
    def compare(spec: MachineSpec, cur: ObservedMachine) -> tuple[bool, str, str] | None:
        want = getattr(spec, key)
        if want is None:
            return None
        have = getattr(cur, key)
        return want == have, fmt(have), fmt(want)

    return compare


def _nics_attachments(spec: MachineSpec, cur: ObservedMachine) -> tuple[bool, str, str] | None:
    if spec.nics is None:
        return None
    same = len(spec.nics) == len(cur.nics) and all(
        w.same_attachment(h) for w, h in zip(spec.nics, cur.nics, strict=True)
    )
    return same, render.nics(cur.nics), render.nics(spec.nics)


def _forwards(spec: MachineSpec, cur: ObservedMachine) -> tuple[bool, str, str] | None:
    if spec.nics is None:
        return None
    have_all = cur.forwards()
    want_all = spec.forwards()
    same = all(_forwards_match(w, h) for w, h in zip(spec.nics, cur.nics, strict=False))
    return same, render.forwards(have_all), render.forwards(want_all)


def _forwards_match(want: Nic, have: Nic) -> bool:
    if len(want.forwards) != len(have.forwards):
        return False
    by_name = {f.name: f for f in have.forwards}
    return all(f.name in by_name and f.matches(by_name[f.name]) for f in want.forwards)


def _shared_folders(spec: MachineSpec, cur: ObservedMachine) -> tuple[bool, str, str] | None:
    if spec.shared_folders is None:
        return None

    def key(s: Any) -> tuple[str, str, str, bool]:
        return (s.name, s.host, s.guest, s.readonly)

    same = sorted(map(key, spec.shared_folders)) == sorted(map(key, cur.shared_folders))
    return same, render.shared_folders(cur.shared_folders), render.shared_folders(spec.shared_folders)


COMPARERS: tuple[tuple[str, Comparer], ...] = (
    ("os_type", _scalar("os_type", str)),
    ("cpus", _scalar("cpus", str)),
    ("memory_mb", _scalar("memory_mb", render.mb)),
    ("firmware", _scalar("firmware", str)),
    ("nics", _nics_attachments),
    ("forwards", _forwards),
    ("shared_folders", _shared_folders),
    ("dvd", _scalar("dvd", lambda v: v or "none")),
)


def _config_steps(spec: MachineSpec, cur: ObservedMachine, warnings: list[str]) -> list[Step]:
    steps: list[Step] = []
    nics_changed = False
    for key, compare in COMPARERS:
        result = compare(spec, cur)
        if result is None:
            continue
        same, have, want = result
        if key == "forwards" and nics_changed:
            continue  # rewriting the adapters rewrites their forwards too
        if same:
            steps.append(Step(spec.name, "noop", key=key, reason=f"{_label(key)} already {want}"))
            continue
        nics_changed = nics_changed or key == "nics"
        steps.append(Step(spec.name, "change", key=key, old=have, new=want,
                          needs_poweroff=key in POWEROFF_KEYS))
    steps += _disk_steps(spec, cur, warnings)
    return steps


def _disk_steps(spec: MachineSpec, cur: ObservedMachine, warnings: list[str]) -> list[Step]:
    if spec.disk_mb is None:
        return []
    if cur.disk_mb is None:
        warnings.append(f"{spec.name}: has no disk made by hosted; `disk` is only used when creating")
        return []
    if spec.disk_mb == cur.disk_mb:
        return [Step(spec.name, "noop", key="disk_mb", reason=f"disk already {render.mb(spec.disk_mb)}")]
    if spec.disk_mb < cur.disk_mb:
        warnings.append(f"{spec.name}: disk is {render.mb(cur.disk_mb)}; hosted never shrinks a disk")
        return []
    return [Step(spec.name, "change", key="disk_mb", old=render.mb(cur.disk_mb),
                 new=render.mb(spec.disk_mb), needs_poweroff=True)]


def _label(key: str) -> str:
    return KEY_LABELS.get(key, key)


def _with_power(spec: MachineSpec, cur: ObservedMachine, steps: list[Step]) -> list[Step]:
    name = spec.name
    offline = [s for s in steps if s.action == "change" and s.needs_poweroff]
    online = cur.power.is_on or cur.power in (PowerState.STARTING, PowerState.RESTORING)
    if spec.state == "poweroff":
        if online:
            return [Step(name, "stop", reason="desired state is poweroff"), *steps]
        return [*steps, Step(name, "noop", key="state", reason=f"already {cur.power.value}")]
    if offline and (online or cur.power == PowerState.SAVED):
        why = "to apply: " + ", ".join(_label(s.key or "") for s in offline)
        # A saved state cannot survive a hardware change: stopping discards it.
        lost = cur.power == PowerState.SAVED
        stop_why = ("discards the saved state " + why) if lost else why
        return [Step(name, "stop", reason=stop_why, restart=True, destructive=lost), *steps,
                Step(name, "start", reason=why, restart=True)]
    if online:
        return [*steps, Step(name, "noop", key="state", reason="already running")]
    if cur.power == PowerState.SAVED and not offline:
        return [*steps, Step(name, "resume", reason="desired state is running")]
    return [*steps, Step(name, "start", reason="desired state is running")]


def _orphans(environment: Environment, owned: Sequence[ObservedMachine]) -> list[MachinePlan]:
    names = {m.name for m in environment.machines}
    gone = [m for m in owned if m.tags is not None and m.tags.machine not in names]
    return list(destroy_plan(environment.name, gone, "no longer in the profile").machines)


def destroy_plan(environment: str, machines: Sequence[ObservedMachine], reason: str) -> Plan:
    """A plan that destroys ``machines`` (each step destructive, so it is confirmed first)."""
    return Plan(environment, tuple(
        MachinePlan(m.label, m.vm_name, m.uuid,
                    (Step(m.label, "destroy", old=m.vm_name, reason=reason, destructive=True),))
        for m in machines
    ))
