"""destroy deletes hosted's media only."""

from __future__ import annotations

import os

import pytest
from vbox_fixtures import vboxmanage_info

from backend_virtualbox.conftest import Maker, vboxmanage

pytestmark = pytest.mark.vbox


def test_destroy_keeps_a_disk_the_user_attached(maker: Maker) -> None:
    m = maker.create(maker.spec("destroy", disk_mb=8))
    folder = os.path.dirname(m.settings_file)
    hosted_disk = os.path.join(folder, f"{m.vm_name}.vdi")
    user_disk = os.path.join(os.path.dirname(folder), f"{m.vm_name}-user.vdi")
    vboxmanage("createmedium", "disk", "--filename", user_disk, "--size", "4")
    vboxmanage("storageattach", m.vm_name, "--storagectl", "SATA", "--port", "5", "--device", "0",
               "--type", "hdd", "--medium", user_disk)
    assert vboxmanage_info(m.vm_name)["SATA-5-0"] == user_disk
    maker.backend.destroy(m.uuid, maker.emit)
    assert maker.backend.get_machine(m.uuid) is None
    assert not os.path.exists(hosted_disk) and not os.path.exists(m.settings_file)
    assert os.path.exists(user_disk)
    assert not os.path.exists(folder)
    assert any("kept disks" in msg and user_disk in msg for msg in maker.emit.messages("info"))
    vboxmanage("closemedium", "disk", user_disk, "--delete")
