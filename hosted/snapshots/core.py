"""What every snapshot operation shares: hosted's mark, the tree, finding a snapshot
by name on each machine, confirmation, and the take / restore primitives.

Snapshots hosted takes carry ``MARK`` on the first line of their description;
a snapshot without it is listed but only ever deleted when the user names it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from hosted import __version__
from hosted.apply import Confirm, require_confirmation
from hosted.backend.base import Backend
from hosted.errors import HostedError, OperationFailed, SnapshotError, UsageError
from hosted.events import Emit, Event
from hosted.lifecycle import owned_machines
from hosted.model import Environment, ObservedMachine, PowerState, SnapshotInfo

MARK = "hosted-snapshot:"
DEFAULT_PARALLEL = 4  # machines worked on at once
Kind = Literal["save", "push", "baseline"]


def describe(kind: Kind) -> str:
    return f"{MARK} {kind}\nTaken by hosted {__version__} (`hosted snapshot {kind}`)."


def kind_of(info: SnapshotInfo) -> str | None:
    """hosted's kind of snapshot ("save", "push", "baseline"), or None: hosted did not take it."""
    first = info.description.partition("\n")[0]
    return (first[len(MARK):].strip() or "save") if first.startswith(MARK) else None


@dataclass(frozen=True)
class SnapshotNode:
    info: SnapshotInfo
    depth: int

    @property
    def kind(self) -> str | None:
        return kind_of(self.info)


@dataclass(frozen=True)
class MachineSnapshots:
    machine: str
    vm_name: str
    uuid: str
    power: PowerState
    nodes: tuple[SnapshotNode, ...]  # the tree in pre-order, children oldest first


def tree(infos: Sequence[SnapshotInfo]) -> list[SnapshotNode]:
    shown = {i.id: i for i in infos}
    out: list[SnapshotNode] = []

    def walk(info: SnapshotInfo, depth: int) -> None:
        out.append(SnapshotNode(info, depth))
        for child in info.children:
            if child in shown:
                walk(shown[child], depth + 1)

    for info in shown.values():
        if info.parent_id not in shown:
            walk(info, 0)
    return out


def label(m: ObservedMachine) -> str:
    return m.label


def list_snapshots(env: Environment, backend: Backend, names: Sequence[str] = ()) -> list[MachineSnapshots]:
    return [
        MachineSnapshots(label(m), m.vm_name, m.uuid, m.power, tuple(tree(backend.list_snapshots(m.uuid))))
        for m in owned_machines(env, backend, names)
    ]


def check_name(name: str) -> None:
    if not name or name != name.strip() or "\n" in name:
        raise UsageError(f"invalid snapshot name {name!r}", "use a non-empty name without surrounding spaces")


def find(infos: Sequence[SnapshotInfo], name: str) -> SnapshotInfo | None:
    found = [i for i in infos if i.name == name]
    if len(found) > 1:
        raise SnapshotError(
            f"{len(found)} snapshots are named {name!r} (made outside hosted); hosted cannot tell them apart",
            "rename or delete all but one in the VirtualBox GUI",
        )
    return found[0] if found else None


# (machine, its snapshot, all its snapshots); machines without the snapshot are left out.
Target = tuple[ObservedMachine, SnapshotInfo, list[SnapshotInfo]]
Pick = Callable[[list[SnapshotInfo]], SnapshotInfo | None]


def resolve(machines: Sequence[ObservedMachine], backend: Backend, pick: Pick, what: str,
            explicit: bool) -> dict[str, Target]:
    """Each machine's snapshot.  Named machines must all have it; otherwise at least one must."""
    targets: dict[str, Target] = {}
    for m in machines:
        infos = backend.list_snapshots(m.uuid)
        snap = pick(infos)
        if snap is not None:
            targets[m.uuid] = (m, snap, infos)
    missing = [label(m) for m in machines if m.uuid not in targets]
    if (explicit and missing) or (machines and not targets):
        raise SnapshotError(f"{', '.join(missing)}: no {what}; nothing was changed",
                            "`hosted snapshot list` shows each machine's snapshots")
    return targets


def confirm_discard(targets: Sequence[Target], verb: str, yes: bool, confirm: Confirm | None) -> None:
    """A running (or suspended) machine loses its state: ask once for all of them, before anything."""
    pending = [f"{label(m)} ({m.vm_name}) is {m.power.value}: {verb} {s.name!r} discards its current state"
               for m, s, _ in targets if m.power.is_on or m.power == PowerState.SAVED]
    require_confirmation(pending, yes, confirm)


def restore_to(backend: Backend, m: ObservedMachine, snap: SnapshotInfo, emit: Emit) -> None:
    """Power off if needed and restore; the machine is then saved (live snapshot) or powered off."""
    if m.power.is_on:
        backend.stop(m.uuid, "poweroff", 0.0, emit)
    elif not m.power.is_off:
        raise OperationFailed(f"{m.vm_name} is {m.power.value}", "wait until it settles, then try again")
    backend.restore_snapshot(m.uuid, snap.id, emit)


def take(backend: Backend, m: ObservedMachine, name: str, kind: Kind, emit: Emit,
         replaces: SnapshotInfo | None = None) -> SnapshotInfo:
    """Take ``name`` (live if the machine runs); with ``replaces``, then delete that old one."""
    new = backend.take_snapshot(m.uuid, name, describe(kind), emit)
    if new.online:
        emit(Event("info", f"{name!r} is a live snapshot: it holds the running state", machine=label(m)))
    if replaces is None:
        return new
    try:
        backend.delete_snapshot(m.uuid, replaces.id, emit)
    except HostedError as exc:
        with contextlib.suppress(HostedError):  # roll back only what this run made
            backend.delete_snapshot(m.uuid, new.id, emit)
        raise SnapshotError(f"could not replace {name!r}: {exc.message}; the old snapshot is kept",
                            exc.hint) from exc
    return new


