"""Contract: an unattended install prepared from an installer ISO (Backend.prepare_unattended).

Run on the in-memory double and on real VirtualBox, with a Debian-netinst-like
ISO made in the test (tests/installer_iso.py).  Nothing boots the installer.
"""

from __future__ import annotations

import glob
import os

import pytest
from installer_iso import write_debian_netinst, write_unknown_iso

from contract.conftest import Ctx
from hosted.backend.base import UnattendedSpec
from hosted.errors import ImageError, OperationFailed


def request(iso: str, **changes: object) -> UnattendedSpec:
    fields: dict[str, object] = {"iso_path": iso, "user": "dev", "password": "s3cret",
                                 "hostname": "web.hosted.test", "authorized_key": "ssh-ed25519 AAAAtest k"}
    fields.update(changes)
    return UnattendedSpec(**fields)  # type: ignore[arg-type]


def unattended_files(settings_file: str) -> list[str]:
    return glob.glob(os.path.join(glob.escape(os.path.dirname(settings_file)), "Unattended-*"))


def test_prepare_detects_debian_and_puts_the_installer_in_the_dvd_drive(ctx: Ctx) -> None:
    made = ctx.create(ctx.spec())
    iso = str(write_debian_netinst(ctx.files / "debian-12.5.0-amd64-netinst.iso"))
    info = ctx.backend.prepare_unattended(made.uuid, request(iso), ctx.emit)
    assert info.os_type == "Debian12_64"
    after = ctx.observe(made.uuid)
    assert after.os_type == "Debian12_64", "the detected OS type is set when asked"
    assert after.dvd is not None and after.dvd in info.media and after.dvd.endswith(".viso")
    assert (after.memory_mb, after.disk_mb, after.nics) == (made.memory_mb, made.disk_mb, made.nics)
    assert unattended_files(after.settings_file)
    assert any(e.kind == "progress" for e in ctx.emit.events)

    ctx.backend.destroy(made.uuid, ctx.emit)
    assert not unattended_files(after.settings_file), "destroy leaves the installer's files behind"


def test_a_declared_os_type_is_not_replaced(ctx: Ctx) -> None:
    made = ctx.create(ctx.spec(os_type="Debian_64"))
    iso = str(write_debian_netinst(ctx.files / "d.iso"))
    ctx.backend.prepare_unattended(made.uuid, request(iso, set_os_type=False), ctx.emit)
    assert ctx.observe(made.uuid).os_type == "Debian_64"


def test_an_iso_without_a_known_installer_is_refused_and_changes_nothing(ctx: Ctx) -> None:
    made = ctx.create(ctx.spec())
    before = ctx.observe(made.uuid)
    with pytest.raises(ImageError) as info:
        ctx.backend.prepare_unattended(made.uuid, request(str(write_unknown_iso(ctx.files / "data.iso"))),
                                       ctx.emit)
    assert "does not recognise the OS" in info.value.message and "Debian" in info.value.hint
    assert ctx.observe(made.uuid) == before
    assert not unattended_files(before.settings_file)


def test_a_machine_hosted_does_not_own_is_refused(ctx: Ctx) -> None:
    uuid = ctx.harness.make_foreign(ctx.vm_name("foreign"))
    with pytest.raises(OperationFailed):
        ctx.backend.prepare_unattended(uuid, request(str(write_debian_netinst(ctx.files / "d.iso"))),
                                       ctx.emit)
