"""Unattended install on real VirtualBox, checked with evidence from outside hosted.

The installer ISO is a Debian-netinst-like ISO made in the test
(tests/installer_iso.py: ``.disk/info`` and the isolinux menu VirtualBox's
Debian installer rewrites).  Evidence: ``VBoxManage showvminfo``, the VISO
VirtualBox wrote, and the auxiliary ISO as VirtualBox's own ISO maker renders it
(read through IMediumIO), opened with pycdlib.  Booting the installer to the end
would take hours with interpreted guest code; the VM is only started.
"""

from __future__ import annotations

import base64
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
from installer_iso import DEBIAN_INFO, read_file, write_debian_netinst, write_unknown_iso
from vbox_fixtures import vboxmanage_info

from backend_virtualbox.conftest import Maker, nat, vboxmanage
from hosted.backend.base import UnattendedSpec
from hosted.errors import ImageError
from hosted.model import Forward, PowerState

pytestmark = pytest.mark.vbox
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostedTestKeyOnlyForThisTest hosted-test"


def request(iso: Path, **changes: Any) -> UnattendedSpec:
    fields: dict[str, Any] = {
        "iso_path": str(iso), "user": "dev", "password": "s3cret-pw", "hostname": "web.hosted.test",
        "full_name": "Dev Eloper", "locale": "de_DE", "time_zone": "Europe/Berlin", "authorized_key": KEY}
    fields.update(changes)
    return UnattendedSpec(**fields)


def rendered_iso(backend: Any, path: str) -> bytes:
    """The auxiliary medium's bytes as VirtualBox serves them to the VM (a VISO is built on open)."""
    ctx = backend._ctx
    c = ctx.const
    medium = ctx.vbox.openMedium(path, c.DeviceType_DVD, c.AccessMode_ReadOnly, False)
    io = medium.openForIO(False, "")
    data, chunk = bytearray(), 256 * 1024  # IMediumIO reads at most 256 KB at a time
    while True:
        part = bytes(io.read(len(data), chunk))
        data += part
        if len(part) < chunk:
            return bytes(data)


@pytest.fixture
def prepared(maker: Maker, tmp_path: Path) -> tuple[str, Path, Any]:
    spec = maker.spec("inst", disk_mb=64, nics=(nat(Forward("ssh", 22, None)),))
    made = maker.create(spec)
    iso = write_debian_netinst(tmp_path / "debian-12.5.0-amd64-netinst.iso")
    info = maker.backend.prepare_unattended(made.uuid, request(iso), maker.emit)
    return spec.vm_name, iso, info


def test_the_machine_boots_the_remastered_installer(prepared: tuple[str, Path, Any]) -> None:
    name, iso, info = prepared
    vm = vboxmanage_info(name)
    assert vm["ostype"].startswith("Debian 12") and info.os_type == "Debian12_64"
    assert info.os_version.startswith("12.5.0") and "Debian" in info.os_flavor
    dvds = {k: v for k, v in vm.items() if re.fullmatch(r"IDE-\d-\d", k) and v != "none"}
    assert list(dvds.values()) == [info.media[0]] and info.media[0].endswith("-aux-iso.viso")
    disks = [v for k, v in vm.items() if re.fullmatch(r"SATA-\d+-0", k) and v != "none"]
    assert len(disks) == 1 and disks[0].endswith(".vdi")
    # The disk is new and empty, so the BIOS falls through to the DVD; once installed, the disk boots.
    assert [vm["boot1"], vm["boot2"]] == ["disk", "dvd"]
    viso = shlex.split(Path(info.media[0]).read_text(encoding="utf-8"))
    assert viso[viso.index("--import-iso") + 1] == str(iso), "the VISO wraps the installer ISO"


def test_the_auxiliary_iso_answers_the_debian_installer(
    prepared: tuple[str, Path, Any], virtualbox_backend: Any
) -> None:
    _name, _iso, info = prepared
    aux = rendered_iso(virtualbox_backend, info.media[0])
    preseed = read_file(aux, "preseed.cfg").decode()
    for line in ("d-i passwd/username string dev", "d-i passwd/user-fullname string Dev Eloper",
                 "d-i netcfg/get_hostname string web", "d-i netcfg/get_domain string hosted.test",
                 "d-i debian-installer/locale string de_DE", "d-i time/zone string Europe/Berlin",
                 "d-i pkgsel/include string openssh-server"):
        assert line in preseed.splitlines(), line
    assert "s3cret-pw" not in preseed, "the password goes in crypted"
    menu = read_file(aux, "isolinux/txt.cfg").decode()
    assert "default VBoxUnatendedInstall" in menu and "preseed/file=/cdrom/preseed.cfg" in menu
    assert read_file(aux, ".disk/info").decode() == DEBIAN_INFO, "the installer's own files are kept"
    post = read_file(aux, "vboxpostinstall.sh").decode()
    [encoded] = re.findall(r"chroot \$\{MY_TARGET\} /bin/sh -c 'echo ([A-Za-z0-9+/=]+) \| base64 -d", post)
    script = base64.b64decode(encoded).decode()
    assert f"echo '{KEY}' >> \"$h/.ssh/authorized_keys\"" in script and "u='dev'" in script
    assert "NOPASSWD:ALL" in script


def test_the_prepared_machine_starts(prepared: tuple[str, Path, Any], maker: Maker) -> None:
    name, _iso, _info = prepared
    maker.backend.start(name, "headless", maker.emit)
    try:
        assert maker.backend.get_machine(name).power == PowerState.RUNNING  # type: ignore[union-attr]
        assert vboxmanage_info(name)["VMState"] == "running"
    finally:
        maker.backend.stop(name, "poweroff", 0, maker.emit)


def iso_that_is_not_an_installer(tmp_path: Path) -> Path:
    guest = Path(__file__).resolve().parents[2] / ".cache" / "test-guest" / "test-guest.iso"
    return guest if guest.is_file() else write_unknown_iso(tmp_path / "data.iso")


def test_an_unsupported_iso_is_refused_and_the_machine_is_unchanged(maker: Maker, tmp_path: Path) -> None:
    spec = maker.spec("plain", disk_mb=64)
    made = maker.create(spec)
    before = vboxmanage_info(spec.vm_name)
    iso = iso_that_is_not_an_installer(tmp_path)
    with pytest.raises(ImageError) as err:
        maker.backend.prepare_unattended(made.uuid, request(iso), maker.emit)
    assert f"does not recognise the OS on {iso}" in err.value.message
    assert vboxmanage_info(spec.vm_name) == before
    assert not list(Path(before["CfgFile"]).parent.glob("Unattended-*"))


def test_guest_additions_without_their_iso_are_refused_with_a_hint(
    maker: Maker, virtualbox_backend: Any, tmp_path: Path
) -> None:
    additions = str(virtualbox_backend._ctx.vbox.systemProperties.defaultAdditionsISO or "")
    if additions and Path(additions).is_file():
        pytest.skip(f"this VirtualBox has its Guest Additions ISO ({additions})")
    spec = maker.spec("ga", disk_mb=64)
    made = maker.create(spec)
    before = vboxmanage_info(spec.vm_name)
    iso = write_debian_netinst(tmp_path / "d.iso")
    with pytest.raises(ImageError) as err:
        maker.backend.prepare_unattended(made.uuid, request(iso, guest_additions=True), maker.emit)
    assert "no Guest Additions ISO" in err.value.message and "guest_additions: false" in err.value.hint
    assert vboxmanage_info(spec.vm_name) == before



def test_destroy_forgets_the_auxiliary_medium_and_files(
    prepared: tuple[str, Path, Any], maker: Maker
) -> None:
    name, _iso, info = prepared
    folder = Path(vboxmanage_info(name)["CfgFile"]).parent
    maker.backend.destroy(name, maker.emit)
    assert info.media[0] not in vboxmanage("list", "dvds"), "the VISO stays in VirtualBox's media registry"
    assert not folder.exists(), f"left in the machine folder: {list(folder.iterdir())}"
