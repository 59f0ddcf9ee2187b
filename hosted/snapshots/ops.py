"""save, restore, delete, push and pop across an environment's machines.

Each works on several machines at once (bounded) and returns one MachineResult
per machine, like ``hosted.lifecycle``.  Whatever can be checked before any
change is checked for every machine first (a name already taken, a snapshot
missing, a merge VirtualBox would refuse, a running state that would be lost
without confirmation): such a refusal changes nothing anywhere.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from hosted.apply import Confirm, MachineResult
from hosted.backend.base import Backend
from hosted.errors import SnapshotError
from hosted.events import Emit, Event
from hosted.lifecycle import for_each, owned_machines
from hosted.model import Environment, ObservedMachine, SnapshotInfo
from hosted.snapshots.core import (
    DEFAULT_PARALLEL,
    Target,
    check_name,
    confirm_discard,
    find,
    kind_of,
    label,
    resolve,
    restore_to,
    take,
)

PUSH_PREFIX = "push-"


def _replace_problem(m: ObservedMachine, old: SnapshotInfo) -> str | None:
    # VirtualBox merges a deleted snapshot into its only child and refuses when there are several;
    # the new snapshot becomes one more child when the old one is the current one.
    children = len(old.children) + (1 if old.current else 0)
    if children > 1:
        return f"{label(m)}: {old.name!r} would have {children} children, and VirtualBox cannot merge it"
    return None


def save(env: Environment, backend: Backend, name: str, names: Sequence[str], emit: Emit, *,
         force: bool = False, parallel: int = DEFAULT_PARALLEL) -> list[MachineResult]:
    check_name(name)
    machines = owned_machines(env, backend, names)
    old = {m.uuid: find(backend.list_snapshots(m.uuid), name) for m in machines}
    taken = [label(m) for m in machines if old[m.uuid] is not None]
    if taken and not force:
        raise SnapshotError(f"{', '.join(taken)} already has a snapshot named {name!r}; nothing was changed",
                            "use --force to replace it, or choose another name")
    problems = [p for m in machines if (o := old[m.uuid]) and (p := _replace_problem(m, o))]
    if problems:
        raise SnapshotError("; ".join(problems) + "; nothing was changed", "delete its other children first")

    def act(m: ObservedMachine) -> None:
        was = old[m.uuid]
        if was is not None and kind_of(was) is None:
            emit(Event("info", f"replacing {name!r}, which hosted did not take", machine=label(m)))
        take(backend, m, name, "save", emit, replaces=was)

    return for_each(machines, f"saved snapshot {name!r}", act, emit, parallel=parallel)


def restore(env: Environment, backend: Backend, name: str, names: Sequence[str], emit: Emit, *,
            yes: bool = False, confirm: Confirm | None = None,
            parallel: int = DEFAULT_PARALLEL) -> list[MachineResult]:
    """Restore ``name`` and return to its power state: a live snapshot resumes running."""
    check_name(name)
    machines = owned_machines(env, backend, names)
    targets = resolve(machines, backend, lambda infos: find(infos, name), f"snapshot named {name!r}",
                      bool(names))
    confirm_discard(list(targets.values()), "restoring", yes, confirm)

    def act(m: ObservedMachine) -> str | None:
        if m.uuid not in targets:
            return f"no snapshot named {name!r}; left as it is"
        snap = targets[m.uuid][1]
        restore_to(backend, m, snap, emit)
        if snap.online:
            backend.resume(m.uuid, emit)
        return None

    return for_each(machines, f"restored snapshot {name!r}", act, emit, parallel=parallel)


def delete(env: Environment, backend: Backend, name: str, names: Sequence[str], emit: Emit, *,
           parallel: int = DEFAULT_PARALLEL) -> list[MachineResult]:
    """Delete ``name`` (named explicitly, so even one hosted did not take); children absorb it."""
    check_name(name)
    machines = owned_machines(env, backend, names)
    targets = resolve(machines, backend, lambda infos: find(infos, name), f"snapshot named {name!r}",
                      bool(names))
    _refuse_unmergeable(targets, name)

    def act(m: ObservedMachine) -> str | None:
        if m.uuid not in targets:
            return f"no snapshot named {name!r}"
        _, snap, infos = targets[m.uuid]
        if snap.children:
            child = next((i.name for i in infos if i.id == snap.children[0]), snap.children[0])
            emit(Event("info", f"{name!r} has a child: its changes merge into {child!r}, as VirtualBox "
                       "does; the child keeps its contents", machine=label(m)))
        backend.delete_snapshot(m.uuid, snap.id, emit)
        return None

    return for_each(machines, f"deleted snapshot {name!r}", act, emit, parallel=parallel)


def _refuse_unmergeable(targets: dict[str, Target], name: str) -> None:
    """What VirtualBox would refuse to delete, refused for every machine before any is touched."""
    crowded = [label(m) for m, s, _ in targets.values() if len(s.children) > 1]
    if crowded:
        raise SnapshotError(f"{', '.join(crowded)}: {name!r} has several children and VirtualBox cannot "
                            "merge it into them; nothing was changed", "delete all but one child first")
    current = [label(m) for m, s, _ in targets.values() if s.current and s.children]
    if current:
        raise SnapshotError(f"{', '.join(current)}: {name!r} is the current snapshot and has a child, which "
                            "VirtualBox refuses to delete; nothing was changed",
                            "restore another snapshot first, or delete the child")


def _push_number(info: SnapshotInfo) -> int:
    match = re.fullmatch(re.escape(PUSH_PREFIX) + r"(\d+)", info.name)
    return int(match.group(1)) if match else 0


def push(env: Environment, backend: Backend, names: Sequence[str], emit: Emit, *,
         parallel: int = DEFAULT_PARALLEL) -> list[MachineResult]:
    """Take ``push-N`` on every machine, N one above any push-N any of them has."""
    machines = owned_machines(env, backend, names)
    top = max((_push_number(i) for m in machines for i in backend.list_snapshots(m.uuid)), default=0)
    name = f"{PUSH_PREFIX}{top + 1}"

    def act(m: ObservedMachine) -> None:
        take(backend, m, name, "push", emit)

    return for_each(machines, f"pushed {name!r}", act, emit, parallel=parallel)


def _names(infos: list[SnapshotInfo], ids: Sequence[str]) -> list[str]:
    return [i.name for i in infos if i.id in ids]


def _last_push(infos: list[SnapshotInfo]) -> SnapshotInfo | None:
    pushed = [i for i in infos if kind_of(i) == "push" and _push_number(i)]
    return max(pushed, key=_push_number, default=None)


def pop(env: Environment, backend: Backend, names: Sequence[str], emit: Emit, *, yes: bool = False,
        confirm: Confirm | None = None, parallel: int = DEFAULT_PARALLEL) -> list[MachineResult]:
    """Restore each machine's last pushed snapshot and delete it; foreign snapshots are never popped."""
    machines = owned_machines(env, backend, names)
    targets = resolve(machines, backend, _last_push, "pushed snapshot (`hosted snapshot push`)", bool(names))
    later = [f"{label(m)} ({', '.join(_names(infos, s.children))})"
             for m, s, infos in targets.values() if s.children]
    if later:
        raise SnapshotError(f"snapshots were taken after the last push on {'; '.join(later)}: popping "
                            "would lose track of them; nothing was changed",
                            "delete those first, or go back with `hosted snapshot restore push-N`")
    confirm_discard(list(targets.values()), "popping", yes, confirm)

    def act(m: ObservedMachine) -> str | None:
        if m.uuid not in targets:
            return "nothing pushed"
        snap = targets[m.uuid][1]
        restore_to(backend, m, snap, emit)
        backend.delete_snapshot(m.uuid, snap.id, emit)
        if snap.online:
            backend.resume(m.uuid, emit)
        emit(Event("info", f"back to {snap.name!r}, which is now deleted", machine=label(m)))
        return None

    return for_each(machines, "popped", act, emit, parallel=parallel)
