"""Contract: destroy, foreign machines, locks, power states, extradata, guest properties, logs."""

from __future__ import annotations

import uuid as uuidlib
from pathlib import Path

import pytest

from contract.compare import snapshot_of
from contract.conftest import Ctx
from hosted.backend.base import INSTALL_PENDING, GuestInfo, MachineRecords
from hosted.errors import HostedError, MachineLocked, MachineNotFound, NameConflict, OperationFailed
from hosted.model import PowerState, SharedFolder


def test_info_names_the_backend(ctx: Ctx) -> None:
    info = ctx.backend.info()
    assert info.name == ctx.kind
    assert info.version and info.api_version


def test_destroy_leaves_nothing_but_the_users_files(ctx: Ctx) -> None:
    share, iso = ctx.share("data"), ctx.iso()
    spec = ctx.spec(shared_folders=(SharedFolder("data", share, "/mnt/data"),), dvd=iso)
    created = ctx.create(spec)
    ctx.backend.take_snapshot(created.uuid, "before", "", ctx.emit)  # a differencing disk too
    disks = ctx.harness.disk_files(created.uuid)
    assert disks, "hosted's disk is not attached"
    settings = Path(created.settings_file)
    assert settings.is_file()

    ctx.backend.destroy(created.uuid, ctx.emit)

    assert ctx.backend.get_machine(created.uuid) is None
    assert ctx.backend.get_machine(spec.vm_name) is None
    assert created.uuid not in {m.uuid for m in ctx.backend.list_machines()}
    assert not settings.exists()
    assert [d for d in disks if Path(d).exists()] == []
    assert not settings.parent.exists(), f"left behind: {list(settings.parent.rglob('*'))}"
    assert Path(iso).is_file() and (Path(share) / "keep.txt").is_file()


def test_destroy_powers_a_running_machine_off_first(ctx: Ctx) -> None:
    created = ctx.create(ctx.spec())
    ctx.backend.start(created.uuid, "headless", ctx.emit)
    ctx.backend.destroy(created.uuid, ctx.emit)
    assert ctx.backend.get_machine(created.uuid) is None
    assert not Path(created.settings_file).exists()


def test_a_name_taken_by_an_untagged_machine_is_a_conflict_and_it_is_not_touched(ctx: Ctx) -> None:
    spec = ctx.spec()
    foreign = ctx.harness.make_foreign(spec.vm_name, memory_mb=64)
    before = snapshot_of(ctx.observe(foreign))
    assert before["tags"] is None
    count = len(ctx.backend.list_machines())

    with pytest.raises(NameConflict):
        ctx.create(spec)

    assert snapshot_of(ctx.observe(foreign)) == before
    assert len(ctx.backend.list_machines()) == count


def test_a_name_taken_by_an_owned_machine_fails_without_touching_it(ctx: Ctx) -> None:
    spec = ctx.spec()
    first = ctx.create(spec)
    before = snapshot_of(ctx.observe(first.uuid))
    with pytest.raises(HostedError):
        ctx.create(spec)
    assert snapshot_of(ctx.observe(first.uuid)) == before
    assert [m.uuid for m in ctx.backend.list_machines() if m.vm_name == spec.vm_name] == [first.uuid]


def test_untagged_machines_are_listed_without_tags(ctx: Ctx) -> None:
    foreign = ctx.harness.make_foreign(ctx.vm_name("foreign"))
    owned = ctx.create(ctx.spec())
    listed = {m.uuid: m for m in ctx.backend.list_machines()}
    assert listed[foreign].tags is None and not listed[foreign].owned
    assert listed[owned.uuid].tags == ctx.tags(ctx.spec())


def test_a_locked_machine_yields_machine_locked_naming_the_holder(ctx: Ctx) -> None:
    spec = ctx.spec()
    created = ctx.create(spec)
    before = snapshot_of(ctx.observe(created.uuid))
    with ctx.harness.hold_lock(created.uuid, "VirtualBox GUI"):
        assert ctx.observe(created.uuid).session_locked
        with pytest.raises(MachineLocked) as err:
            ctx.configure(created.uuid, ctx.spec(memory_mb=48), ["memory_mb"])
        assert "VirtualBox GUI" in str(err.value)
        assert err.value.retryable
        with pytest.raises(MachineLocked):
            ctx.backend.start(created.uuid, "headless", ctx.emit)
        with pytest.raises(MachineLocked):
            ctx.backend.destroy(created.uuid, ctx.emit)
    assert snapshot_of(ctx.observe(created.uuid)) == before
    assert not ctx.observe(created.uuid).session_locked
    assert ctx.configure(created.uuid, ctx.spec(memory_mb=48), ["memory_mb"]).memory_mb == 48


def test_power_state_transitions(ctx: Ctx) -> None:
    spec = ctx.spec()
    uuid = ctx.create(spec).uuid
    b, emit = ctx.backend, ctx.emit

    progress = len(emit.messages("progress"))
    b.start(uuid, "headless", emit)
    assert ctx.observe(uuid).power == PowerState.RUNNING
    assert len(emit.messages("progress")) > progress, "start reported no progress"
    b.start(uuid, "headless", emit)  # starting a running machine is a no-op
    assert ctx.observe(uuid).power == PowerState.RUNNING

    b.save_state(uuid, emit)
    assert ctx.observe(uuid).power == PowerState.SAVED
    with pytest.raises(OperationFailed):  # a saved machine is not editable either
        ctx.configure(uuid, ctx.spec(memory_mb=48), ["memory_mb"])
    b.resume(uuid, emit)
    assert ctx.observe(uuid).power == PowerState.RUNNING

    b.stop(uuid, "poweroff", 0, emit)
    assert ctx.observe(uuid).power == PowerState.POWEROFF
    b.stop(uuid, "poweroff", 0, emit)  # stopping an off machine is a no-op
    assert ctx.observe(uuid).power == PowerState.POWEROFF
    with pytest.raises(HostedError):
        b.save_state(uuid, emit)
    b.resume(uuid, emit)  # resuming an off machine starts it
    assert ctx.observe(uuid).power == PowerState.RUNNING

    b.save_state(uuid, emit)
    b.stop(uuid, "poweroff", 0, emit)  # a saved machine loses its saved state
    assert ctx.observe(uuid).power == PowerState.POWEROFF

    b.start(uuid, "headless", emit)  # a machine sitting in its firmware ignores ACPI: falls back
    b.stop(uuid, "acpi", 2.0, emit)
    assert ctx.observe(uuid).power == PowerState.POWEROFF


def test_the_vbox_log_exists_once_the_machine_ran(ctx: Ctx) -> None:
    created = ctx.create(ctx.spec())
    paths = ctx.backend.log_paths(created.uuid)
    assert "vbox" in paths and all(Path(p).is_absolute() for p in paths.values())
    ctx.backend.start(created.uuid, "headless", ctx.emit)
    ctx.backend.stop(created.uuid, "poweroff", 0, ctx.emit)
    assert Path(ctx.backend.log_paths(created.uuid)["vbox"]).is_file()


def test_records_round_trip(ctx: Ctx) -> None:
    uuid = ctx.create(ctx.spec()).uuid
    assert ctx.backend.records(uuid) == MachineRecords()
    ctx.backend.record_provisioned(uuid, "shell-1", "f1")
    ctx.backend.record_provisioned(uuid, "copy", "f2")
    ctx.backend.record_install(uuid, INSTALL_PENDING)
    assert ctx.backend.records(uuid) == MachineRecords({"shell-1": "f1", "copy": "f2"}, INSTALL_PENDING)
    ctx.backend.record_provisioned(uuid, "shell-1", "")  # forgets it
    assert ctx.backend.records(uuid).provisioned == {"copy": "f2"}
    assert ctx.observe(uuid).tags == ctx.tags(ctx.spec())


def test_records_are_written_while_running_and_survive_a_restore(ctx: Ctx) -> None:
    uuid = ctx.create(ctx.spec()).uuid
    snap = ctx.backend.take_snapshot(uuid, "before", "", ctx.emit)
    ctx.backend.start(uuid, "headless", ctx.emit)
    try:
        ctx.backend.record_provisioned(uuid, "shell-1", "f2")
        assert ctx.backend.records(uuid).provisioned == {"shell-1": "f2"}
    finally:
        ctx.backend.stop(uuid, "poweroff", 0, ctx.emit)
    ctx.backend.restore_snapshot(uuid, snap.id, ctx.emit)
    assert ctx.backend.records(uuid).provisioned == {"shell-1": "f2"}


def test_records_are_refused_on_machines_hosted_does_not_own(ctx: Ctx) -> None:
    foreign = ctx.harness.make_foreign(ctx.vm_name("foreign"))
    with pytest.raises(OperationFailed):
        ctx.backend.record_provisioned(foreign, "shell-1", "f1")
    assert ctx.backend.records(foreign) == MachineRecords()


def test_guest_info_is_read_back(ctx: Ctx) -> None:
    uuid = ctx.create(ctx.spec()).uuid
    assert ctx.backend.guest_info(uuid) == GuestInfo()
    ctx.harness.report_guest(uuid, "7.2.0", "10.0.2.15")
    assert ctx.backend.guest_info(uuid) == GuestInfo(additions="7.2.0", ipv4="10.0.2.15")


def test_unknown_machines(ctx: Ctx) -> None:
    ghost = str(uuidlib.uuid4())
    assert ctx.backend.get_machine(ghost) is None
    assert ctx.backend.get_machine(ctx.vm_name("ghost")) is None
    with pytest.raises(MachineNotFound):
        ctx.backend.start(ghost, "headless", ctx.emit)
    with pytest.raises(MachineNotFound):
        ctx.backend.destroy(ghost, ctx.emit)
