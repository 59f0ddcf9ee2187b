"""Create -> inspect round trips, checked through the backend and through VBoxManage."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from vbox_fixtures import tags_for, vboxmanage_info

from backend_virtualbox.conftest import Maker, extradata, nat
from hosted.errors import NameConflict, OperationFailed
from hosted.model import Forward, Nic, PowerState, SharedFolder

pytestmark = pytest.mark.vbox


def test_every_key_round_trips(maker: Maker, tmp_path: Path, iso: str) -> None:
    share = tmp_path / "share"
    share.mkdir()
    spec = maker.spec(
        "full", os_type="Debian_64", cpus=2, memory_mb=48, disk_mb=16, firmware="efi", dvd=iso,
        nics=(nat(Forward("ssh", 22, None), Forward("web", 80, 3401, protocol="udp")),
              Nic("internal", network="backnet", adapter_type="virtio")),
        shared_folders=(SharedFolder("src", str(share), "/mnt/src", readonly=True, automount=False),),
    )
    m = maker.create(spec)
    assert m.tags == tags_for(spec)
    assert (m.vm_name, m.os_type, m.cpus) == (spec.vm_name, "Debian_64", 2)
    assert (m.memory_mb, m.firmware) == (48, "efi")
    assert m.power == PowerState.POWEROFF and m.disk_mb == 16 and m.dvd == iso
    assert [n.kind for n in m.nics] == ["nat", "internal"]
    assert m.nics[1].network == "backnet" and m.nics[1].adapter_type == "virtio"
    fwd = {f.name: f for f in m.nics[0].forwards}
    assert fwd["web"] == Forward("web", 80, 3401, "127.0.0.1", "udp")
    assert fwd["ssh"].host is not None and Forward("ssh", 22, None).matches(fwd["ssh"])
    assert m.shared_folders == spec.shared_folders
    assert m.settings_file.endswith(f"{spec.vm_name}.vbox") and os.path.exists(m.settings_file)
    assert maker.backend.get_machine(spec.vm_name) == m  # by name as by uuid


def test_vboxmanage_sees_what_the_spec_asked_for(maker: Maker) -> None:
    spec = maker.spec("evidence", cpus=2, memory_mb=40, disk_mb=8,
                      nics=(nat(Forward("ssh", 22, 3402)),))
    m = maker.create(spec)
    info = vboxmanage_info(spec.vm_name)
    assert info["UUID"] == m.uuid and "Linux" in info["ostype"]
    assert (info["memory"], info["cpus"], info["firmware"]) == ("40", "2", "BIOS")
    assert info["nic1"] == "nat" and info["nic2"] == "none"
    assert info["Forwarding(0)"] == "ssh,tcp,127.0.0.1,3402,,22"
    assert info["uart1"] == "0x03f8,4" and info["uartmode1"].startswith("file,")
    assert info["uartmode1"].endswith(os.path.join(os.path.dirname(m.settings_file), "serial.log"))
    disks = [v for k, v in info.items() if k.startswith("SATA-") and v.endswith(".vdi")]
    assert len(disks) == 1 and os.path.exists(disks[0])
    assert extradata(m.uuid, "hosted/media") == f'["{disks[0]}"]'
    if not Path("/dev/vboxdrv").exists():
        assert extradata(m.uuid, "VBoxInternal/HM/FallbackToIEM") == "1"


def test_defaults_for_undeclared_keys(maker: Maker) -> None:
    spec = maker.spec("defaults", memory_mb=None, cpus=None)
    m = maker.create(spec)
    assert (m.os_type, m.cpus, m.memory_mb, m.firmware) == ("Linux_64", 1, 1024, "bios")
    assert m.disk_mb is None and m.dvd is None and m.nics[0].kind == "nat"  # VirtualBox's own NIC default


def test_dvd_without_disk_boots_from_dvd(maker: Maker, iso: str) -> None:
    m = maker.create(maker.spec("dvdboot", dvd=iso))
    info = vboxmanage_info(m.vm_name)
    assert info["boot1"] == "dvd" and m.dvd == iso


def test_progress_events_while_creating_a_disk(maker: Maker) -> None:
    maker.create(maker.spec("progress", disk_mb=8))
    progress = [e for e in maker.emit.events if e.kind == "progress"]
    assert progress and progress[-1].percent == 100.0 and "disk" in progress[-1].message


def test_name_taken_by_an_untagged_machine_is_a_conflict_and_changes_nothing(maker: Maker) -> None:
    name = maker.untagged()
    before = vboxmanage_info(name)
    spec = maker.spec("conflict", vm_name=name, memory_mb=64, disk_mb=8)
    with pytest.raises(NameConflict) as err:
        maker.backend.create_machine(spec, tags_for(spec), maker.emit)
    assert name in err.value.message and err.value.hint
    assert vboxmanage_info(name) == before
    assert maker.backend.get_machine(name).tags is None


def test_failed_create_leaves_nothing_behind(maker: Maker, tmp_path: Path) -> None:
    spec = maker.spec("rollback", disk_mb=8, dvd=str(tmp_path / "missing.iso"))
    with pytest.raises(OperationFailed) as err:
        maker.backend.create_machine(spec, tags_for(spec), maker.emit)
    assert "missing.iso" in err.value.message
    assert maker.backend.get_machine(spec.vm_name) is None
    folder = Path(os.environ["VBOX_USER_HOME"]) / "machines" / spec.vm_name
    assert not folder.exists(), list(folder.iterdir())
