"""list_machines reads every machine as VBoxManage sees it, and with an environment only
that environment's machines.  (How fast it is, against VBoxManage, is bench/status.py's
business: speed targets live in the benchmarks, not in timed tests.)"""

from __future__ import annotations

import pytest
from vbox_fixtures import tags_for, vboxmanage_info

from backend_virtualbox.conftest import Maker, nat
from hosted.model import Forward

pytestmark = pytest.mark.vbox


def test_listing_ten_machines_agrees_with_vboxmanage(maker: Maker) -> None:
    made = [maker.create(maker.spec("listed", disk_mb=8, nics=(nat(Forward("ssh", 22, None)),)))
            for _ in range(10)]
    listed = {m.uuid: m for m in maker.backend.list_machines()}
    for m in made:
        assert listed[m.uuid] == m
        info = vboxmanage_info(m.vm_name)
        assert (info["UUID"], info["memory"]) == (m.uuid, str(m.memory_mb))
        assert info["Forwarding(0)"] == f"ssh,tcp,127.0.0.1,{m.forwards()[0].host},,22"


def test_listing_one_environment_reads_only_its_machines(maker: Maker) -> None:
    mine = maker.spec("mine")
    theirs = maker.spec("theirs")
    a = maker.backend.create_machine(mine, tags_for(mine, env="env-a"), maker.emit)
    b = maker.backend.create_machine(theirs, tags_for(theirs, env="env-b"), maker.emit)
    maker.made += [a.uuid, b.uuid]
    foreign = maker.untagged()
    assert [m.uuid for m in maker.backend.list_machines("env-a")] == [a.uuid]
    assert {a.uuid, b.uuid} <= {m.uuid for m in maker.backend.list_machines()}
    assert any(m.vm_name == foreign for m in maker.backend.list_machines())
