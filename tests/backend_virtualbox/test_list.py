"""list_machines reads every machine as VBoxManage sees it, and with an environment only
that environment's machines.  (How fast it is, against VBoxManage, is bench/status.py's
business: speed targets live in the benchmarks, not in timed tests.)"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from vbox_fixtures import tags_for, vboxmanage_info

from backend_virtualbox.conftest import Maker, nat, vboxmanage
from hosted.backend.virtualbox import backend as backend_module
from hosted.model import Forward, Nic, ObservedMachine, SharedFolder, VirtualBoxSettings

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


def test_machines_read_on_several_threads_agree_with_reads_one_by_one(
        maker: Maker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """list_machines reads an environment's machines on worker threads (overlap.py); machines
    with what others lack (a shared folder, a second NIC, USB) are read on them first."""
    shared = tmp_path / "share"
    shared.mkdir()
    specs = [maker.spec("plain", nics=(nat(),))]
    specs += [maker.spec(f"varied{i}", shared_folders=(SharedFolder("src", str(shared), "/src"),),
                         nics=(nat(Forward("web", 80, None)), Nic("internal", network=f"lan{i}")),
                         virtualbox=VirtualBoxSettings(usb="xhci" if i % 2 else "ohci"))
              for i in range(5)]
    made = [maker.backend.create_machine(s, tags_for(s, env="overlap"), maker.emit) for s in specs]
    maker.made += [m.uuid for m in made]
    threads: list[str] = []

    def spy(*args: Any, **kwargs: Any) -> ObservedMachine:
        threads.append(threading.current_thread().name)
        return real(*args, **kwargs)

    real = backend_module.observe
    monkeypatch.setattr(backend_module, "observe", spy)
    for _ in range(3):
        listed = maker.backend.list_machines("overlap")
        assert [m.uuid for m in listed] == [m.uuid for m in made]  # VirtualBox's order: creation
        assert listed == [maker.backend.get_machine(m.uuid) for m in made]
        assert listed[1].shared_folders and listed[1].virtualbox.usb == "ohci" and len(listed[1].nics) == 2
    workers = {t for t in threads if t.startswith("hosted-read")}
    assert workers and threading.current_thread().name in threads


def test_host_ports_are_read_of_every_machine_on_several_threads(
        maker: Maker, monkeypatch: pytest.MonkeyPatch) -> None:
    """Automatic forwards avoid every host port any registered machine forwards, on any of its
    NICs, hosted's or not; the machines are read on worker threads (overlap.py)."""
    from hosted.backend.virtualbox import observe as observe_module
    from hosted.backend.virtualbox import overlap

    fixed = maker.create(maker.spec("fixed", nics=(nat(Forward("web", 80, 41290)),)))
    assert fixed.forwards()[0].host == 41290
    wanted = {41290}
    for i in range(4):
        name = maker.untagged()
        slot = 1 + 2 * (i % 2)  # NIC 1 or NIC 3
        vboxmanage("modifyvm", name, f"--nic{slot}", "nat", f"--natpf{slot}", f"r{i},tcp,,{41280 + i},,22")
        wanted.add(41280 + i)
    threads: list[str] = []
    each = overlap.each

    def spy(ctx: Any, items: Any, read: Any, **kw: Any) -> Any:
        def seen(item: Any) -> Any:
            threads.append(threading.current_thread().name)
            return read(item)
        return each(ctx, items, seen, **kw)

    monkeypatch.setattr(overlap, "each", spy)
    ctx = maker.backend._ctx
    ctx.port_scan = None
    assert wanted <= observe_module.host_ports(ctx)
    assert any(t.startswith("hosted-read") for t in threads)
