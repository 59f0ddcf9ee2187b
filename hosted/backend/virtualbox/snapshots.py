"""Snapshots: take (live when running), list as a tree, restore (machine off), delete."""

from __future__ import annotations

from typing import Any

from hosted.backend.virtualbox.context import Ctx
from hosted.backend.virtualbox.observe import power_state
from hosted.backend.virtualbox.session import locked
from hosted.backend.virtualbox.template_store import SNAPSHOT_MARK
from hosted.backend.virtualbox.translate import wait_progress
from hosted.errors import SnapshotError
from hosted.events import Emit
from hosted.model import SnapshotInfo


def _info(snap: Any, current_id: str, ctx: Ctx) -> SnapshotInfo:
    parent = snap.parent
    return SnapshotInfo(
        id=str(snap.id), name=str(snap.name), description=str(snap.description or ""),
        taken_at=int(snap.timeStamp) / 1000.0, online=bool(snap.online),
        current=str(snap.id) == current_id, parent_id=str(parent.id) if parent is not None else None,
        children=tuple(str(c.id) for c in ctx.array(snap, "children")),
    )


def list_snapshots(ctx: Ctx, machine: Any) -> list[SnapshotInfo]:
    """Every snapshot, parents before their children; a template's base snapshot is not one of them."""
    if int(machine.snapshotCount) == 0:
        return []
    current = machine.currentSnapshot
    current_id = str(current.id) if current is not None else ""
    result: list[SnapshotInfo] = []
    stack = [machine.findSnapshot("")]  # "" finds the root snapshot
    while stack:
        snap = stack.pop()
        if not str(snap.description or "").startswith(SNAPSHOT_MARK):
            result.append(_info(snap, current_id, ctx))
        stack.extend(reversed(ctx.array(snap, "children")))
    return result


def find_snapshot(machine: Any, snapshot_id: str, ctx: Ctx) -> Any:
    try:
        return machine.findSnapshot(snapshot_id)
    except ctx.xcpt as exc:
        raise SnapshotError(f"'{machine.name}' has no snapshot {snapshot_id}",
                            "list the machine's snapshots to see what exists") from exc


def take(ctx: Ctx, machine: Any, name: str, description: str, emit: Emit) -> SnapshotInfo:
    running = power_state(ctx, machine.state).is_on
    vm = str(machine.name)
    with locked(ctx, machine, write=not running, save=False) as session:
        # pause=False is a live snapshot; on a powered-off machine it must be True.
        progress, snap_id = session.machine.takeSnapshot(name, description, not running)
        wait_progress(ctx, progress, f"taking snapshot '{name}' of '{vm}'", emit, vm)
    snap = machine.findSnapshot(str(snap_id))
    return _info(snap, str(machine.currentSnapshot.id), ctx)


def restore(ctx: Ctx, machine: Any, snapshot_id: str, emit: Emit) -> None:
    vm = str(machine.name)
    if not power_state(ctx, machine.state).is_off:
        raise SnapshotError(f"'{vm}' must be powered off to restore a snapshot", "stop the machine first")
    snap = find_snapshot(machine, snapshot_id, ctx)
    what = f"restoring snapshot '{snap.name}' of '{vm}'"
    with locked(ctx, machine, write=True, save=False) as session:
        wait_progress(ctx, session.machine.restoreSnapshot(snap), what, emit, vm)


def delete(ctx: Ctx, machine: Any, snapshot_id: str, emit: Emit) -> None:
    vm = str(machine.name)
    snap = find_snapshot(machine, snapshot_id, ctx)
    running = power_state(ctx, machine.state).is_on
    # Read the name first: the snapshot object goes away while it is being deleted.
    what = f"deleting snapshot '{snap.name}' of '{vm}'"
    with locked(ctx, machine, write=not running, save=False) as session:
        wait_progress(ctx, session.machine.deleteSnapshot(str(snap.id)), what, emit, vm)
