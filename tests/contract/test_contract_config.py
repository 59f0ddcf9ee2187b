"""Contract: create/inspect round trips, reapplying is a no-op, one key changes one thing."""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Callable
from dataclasses import replace

import pytest

from contract.compare import assert_satisfies, auto_ports, snapshot_of
from contract.conftest import Ctx
from hosted.errors import HostedError, MachineNotFound, OperationFailed
from hosted.model import Forward, MachineSpec, Nic, PowerState, SharedFolder
from hosted.ports import DEFAULT_RANGE


def full_spec(ctx: Ctx) -> MachineSpec:
    """Every declarable key, every NIC kind, explicit and automatic forwards."""
    nat = Nic("nat", forwards=(
        Forward("ssh", 22, None),
        Forward("web", 80, ctx.explicit_port()),
        Forward("dns", 53, None, protocol="udp"),
    ))
    return ctx.spec(
        os_type="Linux_64", cpus=2, memory_mb=48, disk_mb=16, firmware="efi",
        nics=(
            nat,
            Nic("internal", network=f"{ctx.env}-net", adapter_type="virtio"),
            Nic("hostonly", interface="vboxnet0"),
            Nic("bridged", interface="eth0"),
        ),
        shared_folders=(
            SharedFolder("data", ctx.share("data"), "/mnt/data", readonly=True, automount=True),
            SharedFolder("src", ctx.share("src"), "/src", readonly=False, automount=False),
        ),
        dvd=ctx.iso(),
    )


def test_create_then_inspect_round_trips_every_declared_key(ctx: Ctx) -> None:
    spec = full_spec(ctx)
    created = ctx.create(spec)

    uuidlib.UUID(created.uuid)
    assert created.vm_name == spec.vm_name
    assert created.power == PowerState.POWEROFF
    assert_satisfies(spec, created, ctx.tags(spec))
    again = ctx.observe(created.uuid)
    assert_satisfies(spec, again, ctx.tags(spec))
    assert snapshot_of(again) == snapshot_of(created)
    by_name = ctx.backend.get_machine(spec.vm_name)
    assert by_name is not None and by_name.uuid == created.uuid
    assert created.uuid in {m.uuid for m in ctx.backend.list_machines()}
    ports = auto_ports(created)
    lo, hi = DEFAULT_RANGE
    assert lo <= (ports["ssh"] or 0) <= hi and lo <= (ports["dns"] or 0) <= hi
    assert ports["ssh"] != ports["dns"]


def test_create_reports_progress(ctx: Ctx) -> None:
    ctx.create(ctx.spec())
    progress = [e for e in ctx.emit.events if e.kind == "progress"]
    assert progress, "create emitted no progress"
    assert all(e.percent is not None and 0 <= e.percent <= 100 for e in progress)


def test_reapplying_the_same_spec_changes_nothing(ctx: Ctx) -> None:
    spec = full_spec(ctx)
    created = ctx.create(spec)
    before = snapshot_of(ctx.observe(created.uuid))

    returned = ctx.configure(created.uuid, spec, MachineSpec.CONFIG_KEYS)

    after = snapshot_of(ctx.observe(created.uuid))
    assert after == before
    assert snapshot_of(returned) == after
    assert auto_ports(ctx.observe(created.uuid)) == auto_ports(created)


Change = Callable[[Ctx, MachineSpec], MachineSpec]
CHANGES: dict[str, tuple[str, Change]] = {
    # key: (the observed field that must change, how the spec changes)
    "os_type": ("os_type", lambda c, s: replace(s, os_type="Debian_64")),
    "cpus": ("cpus", lambda c, s: replace(s, cpus=2)),
    "memory_mb": ("memory_mb", lambda c, s: replace(s, memory_mb=48)),
    "disk_mb": ("disk_mb", lambda c, s: replace(s, disk_mb=16)),
    "firmware": ("firmware", lambda c, s: replace(s, firmware="efi")),
    "nics": ("nics", lambda c, s: replace(s, nics=(*(s.nics or ()), Nic("internal", network=f"{c.env}-b")))),
    "forwards": ("nics", lambda c, s: replace(s, nics=tuple(
        replace(n, forwards=(*n.forwards, Forward("web", 80, c.explicit_port()))) for n in s.nics or ()))),
    "shared_folders": ("shared_folders", lambda c, s: replace(s, shared_folders=(
        *(s.shared_folders or ()), SharedFolder("more", c.share("more"), "/more")))),
    "dvd": ("dvd", lambda c, s: replace(s, dvd=c.iso("other"))),
}


def _base(ctx: Ctx) -> MachineSpec:
    return ctx.spec(shared_folders=(SharedFolder("data", ctx.share("data"), "/mnt/data"),))


@pytest.mark.parametrize("key", sorted(CHANGES))
def test_a_single_key_change_changes_exactly_that(ctx: Ctx, key: str) -> None:
    spec = _base(ctx)
    tags = ctx.tags(spec)
    created = ctx.backend.create_machine(spec, tags, ctx.emit)
    before = snapshot_of(ctx.observe(created.uuid))
    field, change = CHANGES[key]
    changed = change(ctx, spec)

    ctx.backend.configure(created.uuid, changed, [key], tags, ctx.emit)

    observed = ctx.observe(created.uuid)
    after = snapshot_of(observed)
    assert after[field] != before[field], f"{key}: nothing changed"
    assert {k: v for k, v in after.items() if k != field} == {k: v for k, v in before.items() if k != field}
    assert_satisfies(changed, observed, tags)


def test_tags_alone_change_only_the_tags(ctx: Ctx) -> None:
    spec = _base(ctx)
    created = ctx.create(spec)
    before = snapshot_of(ctx.observe(created.uuid))
    new_tags = ctx.tags(spec, spec_hash="0123456789abcdef", hosted_version="9.9.9")

    ctx.backend.configure(created.uuid, spec, ["tags"], new_tags, ctx.emit)

    after = snapshot_of(ctx.observe(created.uuid))
    assert after["tags"] == new_tags
    assert {k: v for k, v in after.items() if k != "tags"} == {k: v for k, v in before.items() if k != "tags"}


def test_a_failed_configure_leaves_the_machine_as_it_was(ctx: Ctx) -> None:
    spec = ctx.spec(disk_mb=16)
    created = ctx.create(spec)
    before = snapshot_of(ctx.observe(created.uuid))

    # Growing memory is fine, shrinking a disk is not: the whole configure must not happen.
    with pytest.raises(HostedError):
        ctx.configure(created.uuid, replace(spec, memory_mb=48, disk_mb=8), ["memory_mb", "disk_mb"])

    assert snapshot_of(ctx.observe(created.uuid)) == before


@pytest.mark.parametrize("key", ["forwards", "shared_folders", "dvd"])
def test_a_running_machine_takes_runtime_keys_and_refuses_the_rest(ctx: Ctx, key: str) -> None:
    spec = _base(ctx)
    tags = ctx.tags(spec)
    created = ctx.backend.create_machine(spec, tags, ctx.emit)
    ctx.backend.start(created.uuid, "headless", ctx.emit)
    try:
        with pytest.raises(OperationFailed):
            ctx.backend.configure(created.uuid, replace(spec, memory_mb=48), ["memory_mb"], tags, ctx.emit)
        assert ctx.observe(created.uuid).memory_mb == spec.memory_mb

        changed = CHANGES[key][1](ctx, spec)
        ctx.backend.configure(created.uuid, changed, [key], tags, ctx.emit)
        observed = ctx.observe(created.uuid)
        assert observed.power == PowerState.RUNNING
        assert_satisfies(changed, observed, tags)
    finally:
        ctx.backend.stop(created.uuid, "poweroff", 0, ctx.emit)


def test_configuring_an_unknown_machine_is_machine_not_found(ctx: Ctx) -> None:
    spec = ctx.spec()
    with pytest.raises(MachineNotFound):
        ctx.configure(str(uuidlib.uuid4()), spec, ["memory_mb"])
