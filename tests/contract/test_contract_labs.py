"""Contract: `virtualbox:` settings and extra disks round-trip, reapplying changes nothing, one key
changes one thing; a shareable disk is one disk on two machines and goes with the last of them."""

from __future__ import annotations

import os
from dataclasses import replace

from contract.conftest import Ctx
from hosted.model import Disk, Forward, MachineSpec, Nic, VirtualBoxSettings

SETTINGS = VirtualBoxSettings(
    groups=("/hosted-contract",), vram_mb=16, graphics="vmsvga", audio=False, clipboard="bidirectional",
    drag_and_drop="host_to_guest", nested_virtualization=True, ioapic=True, paravirt="kvm", usb="ohci",
    nic_promiscuous="allow_all", nat_dns_host_resolver=True, extradata=(("GUI/ScaleFactor", "2"),))


def _declared(have: VirtualBoxSettings, want: VirtualBoxSettings) -> dict[str, object]:
    return {k: getattr(have, k) for k in want.declared()}


def test_every_virtualbox_setting_round_trips(ctx: Ctx) -> None:
    spec = ctx.spec(virtualbox=SETTINGS)
    created = ctx.create(spec)
    assert _declared(created.virtualbox, SETTINGS) == _declared(SETTINGS, SETTINGS)
    again = ctx.observe(created.uuid)
    assert again.virtualbox == created.virtualbox
    ctx.configure(created.uuid, spec, MachineSpec.CONFIG_KEYS)
    assert ctx.observe(created.uuid).virtualbox == created.virtualbox


def test_one_setting_changes_only_itself_and_a_dropped_extra_data_key_goes(ctx: Ctx) -> None:
    spec = ctx.spec(virtualbox=SETTINGS)
    created = ctx.create(spec)
    wider = replace(SETTINGS, vram_mb=32, extradata=(("GUI/Fullscreen", "false"),))
    ctx.configure(created.uuid, replace(spec, virtualbox=wider), ["virtualbox.vram_mb"])
    after = ctx.observe(created.uuid).virtualbox
    assert after == replace(created.virtualbox, vram_mb=32)
    ctx.configure(created.uuid, replace(spec, virtualbox=wider), ["virtualbox.extradata"])
    assert ctx.observe(created.uuid).virtualbox.extradata == (("GUI/Fullscreen", "false"),)


def test_extra_disks_round_trip_and_grow(ctx: Ctx) -> None:
    disks = (Disk("data", 16, nonrotational=True), Disk("logs", 8, port=5, fixed=True))
    created = ctx.create(ctx.spec(disks=disks))
    got = {d.name: d for d in created.disks}
    assert got["data"] == replace(disks[0], port=got["data"].port) and got["data"].port not in (None, 5)
    assert got["logs"] == disks[1]
    assert ctx.observe(created.uuid).disks == created.disks
    grown = (replace(disks[0], size_mb=24), disks[1])
    ctx.configure(created.uuid, ctx.spec(disks=grown), ["disks"])
    after = {d.name: d for d in ctx.observe(created.uuid).disks}
    assert after["data"].size_mb == 24 and after["data"].port == got["data"].port
    assert after["logs"] == got["logs"]


def test_a_shareable_disk_is_one_disk_on_two_machines_and_goes_with_the_last(ctx: Ctx) -> None:
    quorum = Disk("quorum", 8, fixed=True, shareable=True)
    path = ctx.backend.ensure_shared_disk(ctx.env, quorum, ctx.emit)
    assert os.path.exists(path) and ctx.backend.ensure_shared_disk(ctx.env, quorum, ctx.emit) == path
    nics = (Nic("nat", forwards=(Forward("ssh", 22, None),)),)
    a = ctx.create(ctx.spec("a", disks=(quorum,), nics=nics))
    b = ctx.create(ctx.spec("b", disks=(quorum,), nics=nics))
    for m in (a, b):
        (disk,) = ctx.observe(m.uuid).disks
        assert (disk.name, disk.size_mb, disk.fixed, disk.shareable) == ("quorum", 8, True, True)
    ctx.backend.destroy(a.uuid, ctx.emit)
    assert os.path.exists(path), "b still uses the shareable disk"
    assert [d.name for d in ctx.observe(b.uuid).disks] == ["quorum"]
    ctx.backend.destroy(b.uuid, ctx.emit)
    assert not os.path.exists(path), "the last machine took the shareable disk with it"
