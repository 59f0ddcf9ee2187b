"""Handlers of the snapshot steps."""

from __future__ import annotations

import contextlib

from hosted.errors import HostedError, SnapshotError
from hosted.events import Event
from hosted.run.context import StepContext
from hosted.snapshots import describe
from hosted.steps import DeleteSnapshot, RestoreSnapshot, TakeSnapshot


def take_snapshot(step: TakeSnapshot, ctx: StepContext) -> None:
    """Take it (live if the machine runs); when it replaces one, then delete the old one."""
    uuid, emit = ctx.need_uuid(), ctx.emit
    if step.replaces_foreign:
        emit(Event("info", f"replacing {step.name!r}, which hosted did not take", machine=ctx.machine))
    new = ctx.backend.take_snapshot(uuid, step.name, describe(step.snapshot_kind), emit)
    if new.online:
        emit(Event("info", f"{step.name!r} is a live snapshot: it holds the running state",
                   machine=ctx.machine))
    if not step.replaces:
        return
    try:
        ctx.backend.delete_snapshot(uuid, step.replaces, emit)
    except HostedError as exc:
        with contextlib.suppress(HostedError):  # roll back only what this run made
            ctx.backend.delete_snapshot(uuid, new.id, emit)
        raise SnapshotError(f"could not replace {step.name!r}: {exc.message}; the old snapshot is kept",
                            exc.hint) from exc


def restore_snapshot(step: RestoreSnapshot, ctx: StepContext) -> None:
    ctx.close()
    ctx.backend.restore_snapshot(ctx.need_uuid(), step.snapshot_id, ctx.emit)


def delete_snapshot(step: DeleteSnapshot, ctx: StepContext) -> None:
    if step.merges_into:
        ctx.emit(Event("info", f"{step.name!r} has a child: its changes merge into {step.merges_into!r}, as "
                       "VirtualBox does; the child keeps its contents", machine=ctx.machine))
    ctx.backend.delete_snapshot(ctx.need_uuid(), step.snapshot_id, ctx.emit)
