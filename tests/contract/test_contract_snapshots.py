"""Contract: snapshots form a tree; take, list, restore and delete round trip."""

from __future__ import annotations

import pytest

from contract.conftest import Ctx
from hosted.errors import HostedError, SnapshotError
from hosted.model import PowerState, SnapshotInfo


def _by_id(snaps: list[SnapshotInfo]) -> dict[str, SnapshotInfo]:
    return {s.id: s for s in snaps}


def test_snapshot_tree_take_list_restore_delete(ctx: Ctx) -> None:
    spec = ctx.spec(memory_mb=32)
    uuid = ctx.create(spec).uuid
    b, emit = ctx.backend, ctx.emit
    assert b.list_snapshots(uuid) == []

    one = b.take_snapshot(uuid, "one", "first", emit)
    assert (one.name, one.description, one.parent_id) == ("one", "first", None)
    assert one.current and not one.online
    ctx.configure(uuid, ctx.spec(memory_mb=48), ["memory_mb"])
    two = b.take_snapshot(uuid, "two", "", emit)
    assert two.parent_id == one.id and two.taken_at >= one.taken_at

    snaps = _by_id(b.list_snapshots(uuid))
    assert set(snaps) == {one.id, two.id}
    assert snaps[one.id].children == (two.id,) and not snaps[one.id].current
    assert snaps[two.id].current

    b.restore_snapshot(uuid, one.id, emit)
    assert ctx.observe(uuid).memory_mb == 32
    # Extradata (hosted's tags) is not part of a snapshot: the latest tags stay.
    assert ctx.observe(uuid).tags == ctx.tags(ctx.spec(memory_mb=48))
    assert _by_id(b.list_snapshots(uuid))[one.id].current

    three = b.take_snapshot(uuid, "three", "", emit)  # a second branch under "one"
    assert three.parent_id == one.id
    assert set(_by_id(b.list_snapshots(uuid))[one.id].children) == {two.id, three.id}
    with pytest.raises(HostedError):  # VirtualBox cannot merge into two children
        b.delete_snapshot(uuid, one.id, emit)

    b.delete_snapshot(uuid, two.id, emit)
    b.delete_snapshot(uuid, one.id, emit)
    snaps = _by_id(b.list_snapshots(uuid))
    assert set(snaps) == {three.id}
    assert snaps[three.id].parent_id is None and snaps[three.id].current
    assert ctx.observe(uuid).memory_mb == 32

    b.delete_snapshot(uuid, three.id, emit)
    assert b.list_snapshots(uuid) == []
    with pytest.raises(HostedError):
        b.restore_snapshot(uuid, three.id, emit)


def test_an_online_snapshot_restores_to_saved_and_needs_the_machine_off(ctx: Ctx) -> None:
    uuid = ctx.create(ctx.spec()).uuid
    b, emit = ctx.backend, ctx.emit
    b.start(uuid, "headless", emit)
    try:
        live = b.take_snapshot(uuid, "live", "", emit)
        assert live.online
        assert ctx.observe(uuid).power == PowerState.RUNNING
        with pytest.raises(SnapshotError):
            b.restore_snapshot(uuid, live.id, emit)
    finally:
        b.stop(uuid, "poweroff", 0, emit)

    b.restore_snapshot(uuid, live.id, emit)
    assert ctx.observe(uuid).power == PowerState.SAVED
    b.resume(uuid, emit)
    assert ctx.observe(uuid).power == PowerState.RUNNING
    b.stop(uuid, "poweroff", 0, emit)
