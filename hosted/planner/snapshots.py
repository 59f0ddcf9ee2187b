"""Planning snapshot save, restore, delete, push and pop, and reset to the baseline.

Whatever can be checked before any change is checked for every machine while
planning (a name already taken, a snapshot missing, a merge VirtualBox would
refuse): such a refusal changes nothing anywhere.  Discarding a running state
is a step that needs confirmation, asked once for all machines by the runner.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from hosted.errors import OperationFailed, SnapshotError
from hosted.facts import Facts
from hosted.model import Environment, ObservedMachine, PowerState, SnapshotInfo
from hosted.planner.guest import UpOptions, guest_steps
from hosted.planner.model import Plan
from hosted.planner.netguest import network_guest_steps
from hosted.planner.network import resolve
from hosted.planner.power import per_machine, select
from hosted.snapshots import BASELINE, PUSH_PREFIX, check_name, find, kind_of, last_push, push_number
from hosted.steps import DeleteSnapshot, Noop, RestoreSnapshot, Resume, Start, Step, Stop, TakeSnapshot

Pick = Callable[[Sequence[SnapshotInfo]], SnapshotInfo | None]


def _infos(facts: Facts, m: ObservedMachine) -> tuple[SnapshotInfo, ...]:
    return facts.snapshots.get(m.uuid, ())


def _resolve(facts: Facts, machines: Sequence[ObservedMachine], pick: Pick, what: str,
             explicit: bool) -> dict[str, SnapshotInfo]:
    """Each machine's snapshot.  Named machines must all have it; otherwise at least one must."""
    targets = {m.uuid: snap for m in machines if (snap := pick(_infos(facts, m))) is not None}
    missing = [m.label for m in machines if m.uuid not in targets]
    if (explicit and missing) or (machines and not targets):
        raise SnapshotError(f"{', '.join(missing)}: no {what}; nothing was changed",
                            "`hosted snapshot list` shows each machine's snapshots")
    return targets


def _named(env: Environment, facts: Facts, name: str,
           names: Sequence[str]) -> tuple[list[ObservedMachine], dict[str, SnapshotInfo]]:
    """The machines, and each one's snapshot called ``name`` (see ``_resolve``)."""
    check_name(name)
    machines = select(env, facts, names)
    return machines, _resolve(facts, machines, lambda infos: find(infos, name), f"snapshot named {name!r}",
                              bool(names))


def _back_to(m: ObservedMachine, snap: SnapshotInfo) -> list[Step]:
    """Power off if needed, then restore ``snap`` (the machine is then saved or off)."""
    if not (m.power.is_on or m.power.is_off):
        raise OperationFailed(f"{m.label} ({m.vm_name}) is {m.power.value}; nothing was changed",
                              "wait until it settles, then try again")
    discards = m.power.is_on or m.power == PowerState.SAVED
    stop = [Stop(machine=m.label, mode="poweroff", timeout=0.0)] if m.power.is_on else []
    why = f"discards its current {m.power.value} state" if discards else ""
    return [*stop, RestoreSnapshot(machine=m.label, name=snap.name, snapshot_id=snap.id, online=snap.online,
                                   discards=discards, reason=why)]


def plan_save(env: Environment, facts: Facts, name: str, names: Sequence[str] = (), *,
              force: bool = False) -> Plan:
    check_name(name)
    machines = select(env, facts, names)
    old = {m.uuid: find(_infos(facts, m), name) for m in machines}
    taken = [m.label for m in machines if old[m.uuid] is not None]
    if taken and not force:
        raise SnapshotError(f"{', '.join(taken)} already has a snapshot named {name!r}; nothing was changed",
                            "use --force to replace it, or choose another name")
    problems = []
    for m in machines:
        was = old[m.uuid]
        # VirtualBox merges a deleted snapshot into its only child and refuses when there are several;
        # the new snapshot becomes one more child when the old one is the current one.
        if was is not None and len(was.children) + (1 if was.current else 0) > 1:
            problems.append(f"{m.label}: {name!r} would have {len(was.children) + 1} children, "
                            "and VirtualBox cannot merge it")
    if problems:
        raise SnapshotError("; ".join(problems) + "; nothing was changed", "delete its other children first")

    def steps(m: ObservedMachine) -> list[Step]:
        was = old[m.uuid]
        return [TakeSnapshot(machine=m.label, name=name, snapshot_kind="save", replaces=was.id if was else "",
                             replaces_foreign=was is not None and kind_of(was) is None,
                             reason="live: the machine runs" if m.power.is_on else "")]

    return per_machine(env, "snapshot-save", machines, steps)


def plan_restore(env: Environment, facts: Facts, name: str, names: Sequence[str] = ()) -> Plan:
    """Back to ``name`` and to its power state: a live snapshot resumes running."""
    machines, targets = _named(env, facts, name, names)

    def steps(m: ObservedMachine) -> list[Step]:
        snap = targets.get(m.uuid)
        if snap is None:
            return [Noop(machine=m.label, subject="snapshot",
                         reason=f"no snapshot named {name!r}; left as it is")]
        resume = [Resume(machine=m.label, reason="the snapshot holds a running state")] if snap.online else []
        return [*_back_to(m, snap), *resume]

    return per_machine(env, "snapshot-restore", machines, steps)


def plan_delete(env: Environment, facts: Facts, name: str, names: Sequence[str] = ()) -> Plan:
    """Delete ``name`` (named explicitly, so even one hosted did not take); children absorb it."""
    machines, targets = _named(env, facts, name, names)
    crowded = [m.label for m in machines if (s := targets.get(m.uuid)) and len(s.children) > 1]
    if crowded:
        raise SnapshotError(f"{', '.join(crowded)}: {name!r} has several children and VirtualBox cannot "
                            "merge it into them; nothing was changed", "delete all but one child first")
    current = [m.label for m in machines if (s := targets.get(m.uuid)) and s.current and s.children]
    if current:
        raise SnapshotError(f"{', '.join(current)}: {name!r} is the current snapshot and has a child, which "
                            "VirtualBox refuses to delete; nothing was changed",
                            "restore another snapshot first, or delete the child")

    def steps(m: ObservedMachine) -> list[Step]:
        snap = targets.get(m.uuid)
        if snap is None:
            return [Noop(machine=m.label, subject="snapshot", reason=f"no snapshot named {name!r}")]
        child = next((i.name for i in _infos(facts, m) if snap.children and i.id == snap.children[0]), "")
        return [DeleteSnapshot(machine=m.label, name=name, snapshot_id=snap.id, merges_into=child)]

    return per_machine(env, "snapshot-delete", machines, steps)


def plan_push(env: Environment, facts: Facts, names: Sequence[str] = ()) -> Plan:
    """Take ``push-N`` on every machine, N one above any push-N any of them has."""
    machines = select(env, facts, names)
    top = max((push_number(i) for m in machines for i in _infos(facts, m)), default=0)
    name = f"{PUSH_PREFIX}{top + 1}"
    return per_machine(env, "snapshot-push", machines,
                       lambda m: [TakeSnapshot(machine=m.label, name=name, snapshot_kind="push")])


def plan_pop(env: Environment, facts: Facts, names: Sequence[str] = ()) -> Plan:
    """Restore each machine's last pushed snapshot and delete it; foreign snapshots are never popped."""
    machines = select(env, facts, names)
    targets = _resolve(facts, machines, last_push, "pushed snapshot (`hosted snapshot push`)", bool(names))
    later = [f"{m.label} ({', '.join(i.name for i in _infos(facts, m) if i.id in s.children)})"
             for m in machines if (s := targets.get(m.uuid)) and s.children]
    if later:
        raise SnapshotError(f"snapshots were taken after the last push on {'; '.join(later)}: popping "
                            "would lose track of them; nothing was changed",
                            "delete those first, or go back with `hosted snapshot restore push-N`")

    def steps(m: ObservedMachine) -> list[Step]:
        snap = targets.get(m.uuid)
        if snap is None:
            return [Noop(machine=m.label, subject="snapshot", reason="nothing pushed")]
        resume = [Resume(machine=m.label, reason="the snapshot holds a running state")] if snap.online else []
        delete = DeleteSnapshot(machine=m.label, name=snap.name, snapshot_id=snap.id, reason="popped")
        return [*_back_to(m, snap), delete, *resume]

    return per_machine(env, "snapshot-pop", machines, steps)


def plan_reset(env: Environment, facts: Facts, names: Sequence[str] = (),
               options: UpOptions | None = None) -> Plan:
    """Restore ``baseline`` and bring each machine to its desired state (ready, provisioned).

    A machine without a baseline is left as it is and says so; if it was named,
    or no machine has one, nothing changes anywhere.
    """
    options = options or UpOptions()
    machines = select(env, facts, names)
    nets = resolve(env, facts)
    targets = _resolve(facts, machines, lambda infos: find(infos, BASELINE),
                       f"{BASELINE!r} snapshot (`baseline: true` or `hosted snapshot save baseline`)",
                       bool(names))

    def steps(m: ObservedMachine) -> list[Step]:
        snap = targets.get(m.uuid)
        if snap is None:
            return [Noop(machine=m.label, subject="snapshot",
                         reason=f"no {BASELINE!r} snapshot; nothing was changed")]
        back = _back_to(m, snap)
        spec = env.machine(m.label)
        if spec is None:
            return [*back, Noop(machine=m.label, subject="state",
                                reason="not in the profile any more: left as the baseline has it")]
        if spec.state != "running":
            left = "the baseline holds a running state: left saved, as the profile wants it off" \
                if snap.online else "off, as the profile wants it"
            return [*back, Noop(machine=m.label, subject="state", reason=left)]
        start: Step = Resume(machine=m.label, reason="the baseline holds a running state") if snap.online \
            else Start(machine=m.label, reason="desired state is running")
        # A snapshot may predate the guest's addresses and names: set them again (idempotent).
        network = network_guest_steps(nets.specs[spec.name], m.uuid, True, False, facts, nets)
        return [*back, start, *guest_steps(spec, m.uuid, True, facts, options, login_only=snap.online,
                                           network=network)]

    return per_machine(env, "reset", machines, steps)
