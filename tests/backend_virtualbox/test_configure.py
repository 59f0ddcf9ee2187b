"""configure: each key, port preservation, ownership and lock rules."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from vbox_fixtures import tags_for, vboxmanage_info

from backend_virtualbox.conftest import Maker, extradata, nat
from hosted.errors import MachineLocked, OperationFailed
from hosted.model import Forward, MachineSpec, Nic, SharedFolder

pytestmark = pytest.mark.vbox


def configure(maker: Maker, uuid: str, spec: MachineSpec, *keys: str) -> Any:
    return maker.backend.configure(uuid, spec, list(keys), tags_for(spec), maker.emit)


def test_hardware_keys(maker: Maker) -> None:
    spec = maker.spec("hw", disk_mb=8)
    m = maker.create(spec)
    new = replace(spec, os_type="Debian_64", cpus=2, memory_mb=48, firmware="efi", disk_mb=12)
    m2 = configure(maker, m.uuid, new, "os_type", "cpus", "memory_mb", "firmware", "disk_mb")
    assert (m2.os_type, m2.cpus, m2.memory_mb, m2.firmware, m2.disk_mb) == ("Debian_64", 2, 48, "efi", 12)
    info = vboxmanage_info(spec.vm_name)
    assert (info["memory"], info["cpus"], info["firmware"]) == ("48", "2", "EFI")
    assert m2.tags == tags_for(new)


def test_shrinking_the_disk_is_refused_and_changes_nothing(maker: Maker) -> None:
    spec = maker.spec("shrink", disk_mb=16)
    m = maker.create(spec)
    with pytest.raises(OperationFailed) as err:
        configure(maker, m.uuid, replace(spec, disk_mb=8, memory_mb=48), "memory_mb", "disk_mb")
    assert "shrink" in err.value.message
    after = maker.backend.get_machine(m.uuid)
    assert (after.disk_mb, after.memory_mb) == (16, 32)  # one lock: the memory change was discarded


def test_adding_a_disk_later_records_it_as_hosted_media(maker: Maker) -> None:
    spec = maker.spec("adddisk")
    m = maker.create(spec)
    m2 = configure(maker, m.uuid, replace(spec, disk_mb=8), "disk_mb")
    assert m2.disk_mb == 8
    assert extradata(m.uuid, "hosted/media").endswith('.vdi"]')


def test_nics_replace_adapters_and_forwards_keep_their_ports(maker: Maker) -> None:
    spec = maker.spec("nics", nics=(nat(Forward("ssh", 22, None), Forward("old", 81, 3411)),))
    m = maker.create(spec)
    ssh_port = {f.name: f.host for f in m.forwards()}["ssh"]
    new = replace(spec, nics=(nat(Forward("ssh", 22, None), Forward("web", 80, 3412), adapter_type="virtio"),
                              Nic("internal", network="n2")))
    m2 = configure(maker, m.uuid, new, "nics")
    assert {f.name: f.host for f in m2.forwards()} == {"ssh": ssh_port, "web": 3412}
    assert [(n.kind, n.adapter_type) for n in m2.nics] == [("nat", "virtio"), ("internal", "82540EM")]
    fewer = replace(spec, nics=(Nic("internal", network="n3"),))
    m3 = configure(maker, m.uuid, fewer, "nics")
    assert m3.nics == (Nic("internal", network="n3", adapter_type="virtio", mac=m2.nics[0].mac),)
    assert vboxmanage_info(spec.vm_name)["nic2"] == "none"


def test_forwards_only_changes_forwards(maker: Maker) -> None:
    spec = maker.spec("fwd", nics=(nat(Forward("ssh", 22, 3421)),))
    m = maker.create(spec)
    new = replace(spec, nics=(nat(Forward("ssh", 22, 3422), Forward("auto", 8080, None)),))
    m2 = configure(maker, m.uuid, new, "forwards")
    ports = {f.name: f.host for f in m2.forwards()}
    assert ports["ssh"] == 3422 and ports["auto"] is not None and ports["auto"] not in (3421, 3422)


def test_shared_folders_and_dvd(maker: Maker, tmp_path: Path, iso: str) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    spec = maker.spec("sf", shared_folders=(SharedFolder("a", str(a), "/mnt/a"),))
    m = maker.create(spec)
    new = replace(spec, dvd=iso, shared_folders=(SharedFolder("b", str(b), "", readonly=True),))
    m2 = configure(maker, m.uuid, new, "shared_folders", "dvd")
    assert m2.shared_folders == new.shared_folders and m2.dvd == iso
    with pytest.raises(OperationFailed) as err:
        configure(maker, m.uuid, replace(spec, shared_folders=(SharedFolder("c", str(tmp_path / "no"), ""),)),
                  "shared_folders")
    assert "not a directory" in err.value.message and err.value.hint


def test_untagged_machines_are_never_configured_or_destroyed(maker: Maker) -> None:
    name = maker.untagged()
    before = vboxmanage_info(name)
    spec = maker.spec("user", vm_name=name, memory_mb=64)
    with pytest.raises(OperationFailed):
        configure(maker, name, spec, "memory_mb")
    with pytest.raises(OperationFailed):
        maker.backend.destroy(name, maker.emit)
    assert vboxmanage_info(name) == before


def test_a_lock_held_elsewhere_is_machine_locked_naming_the_holder(maker: Maker) -> None:
    spec = maker.spec("locked")
    m = maker.create(spec)
    ctx = maker.backend._ctx
    other = ctx.mgr.getSessionObject()
    machine = ctx.vbox.findMachine(m.uuid)
    machine.lockMachine(other, ctx.const.LockType_Write)
    saved, ctx.lock_timeout = ctx.lock_timeout, 0.5
    try:
        with pytest.raises(MachineLocked) as err:
            configure(maker, m.uuid, replace(spec, memory_mb=48), "memory_mb")
        assert spec.vm_name in err.value.message and "process" in err.value.message
        assert err.value.retryable
    finally:
        ctx.lock_timeout = saved
        other.unlockMachine()
    assert configure(maker, m.uuid, replace(spec, memory_mb=48), "memory_mb").memory_mb == 48


def link_up_delays(vm: str) -> dict[tuple[str, int], str]:
    """Every NIC LinkUpDelay override on the machine, as VBoxManage reads them."""
    return {(device, slot): value for device in ("e1000", "pcnet", "virtio-net") for slot in range(4)
            if (value := extradata(vm, f"VBoxInternal/Devices/{device}/{slot}/Config/LinkUpDelay"))}


def test_nat_adapters_come_up_at_once_after_a_restore_and_others_keep_the_default(maker: Maker) -> None:
    spec = maker.spec("linkup", nics=(nat(Forward("ssh", 22, None)), Nic("internal", network="n1")))
    m = maker.create(spec)
    assert [n.adapter_type for n in m.nics] == ["82540EM", "82540EM"]  # e1000 devices
    assert link_up_delays(spec.vm_name) == {("e1000", 0): "0"}
    swapped = replace(spec, nics=(Nic("internal", network="n1"), nat(Forward("ssh", 22, None),
                                                                      adapter_type="virtio")))
    configure(maker, m.uuid, swapped, "nics")
    assert link_up_delays(spec.vm_name) == {("virtio-net", 1): "0"}
