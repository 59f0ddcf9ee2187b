"""hosted's snapshot commands against real VirtualBox (driverless VMs in the sandbox).

What hosted did is checked independently with VBoxManage (``showvminfo
--machinereadable``, ``snapshot list --machinereadable``), never only through
the backend that did it.
"""

from __future__ import annotations

import itertools
import os
import subprocess
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from vbox_fixtures import VBOXMANAGE, tags_for, vboxmanage_info

from backend_virtualbox.conftest import Maker, nat
from hosted import api
from hosted.errors import ConfirmationRequired, SnapshotError
from hosted.events import Emit, Recorder
from hosted.model import Environment, Forward, MachineSpec
from hosted.run import MachineResult
from hosted.snapshots import MachineSnapshots, describe, find

pytestmark = pytest.mark.vbox
Results = list[MachineResult]


def save(e: Environment, b: Any, name: str, names: list[str], rec: Emit, **kw: Any) -> Results:
    return api.snapshot_save(e, name, names, on_event=rec, backend=b, **kw).machines


def restore(e: Environment, b: Any, name: str, names: list[str], rec: Emit, **kw: Any) -> Results:
    return api.snapshot_restore(e, name, names, on_event=rec, backend=b, **kw).machines


def delete(e: Environment, b: Any, name: str, names: list[str], rec: Emit) -> Results:
    return api.snapshot_delete(e, name, names, on_event=rec, backend=b).machines


def push(e: Environment, b: Any, names: list[str], rec: Emit) -> Results:
    return api.snapshot_push(e, names, on_event=rec, backend=b).machines


def pop(e: Environment, b: Any, names: list[str], rec: Emit, **kw: Any) -> Results:
    return api.snapshot_pop(e, names, on_event=rec, backend=b, **kw).machines


def reset(e: Environment, b: Any, names: list[str], rec: Emit, **kw: Any) -> Results:
    """Without the SSH wait: these machines have no OS (the e2e tests boot one)."""
    return api.reset(e, names, on_event=rec, backend=b, wait=False, **kw).machines


def list_snapshots(e: Environment, b: Any, names: list[str] | tuple[str, ...] = ()) -> list[MachineSnapshots]:
    return api.snapshot_list(e, names, backend=b)


def take_baseline_if_needed(b: Any, uuid: str, label: str, emit: Emit) -> bool:
    if find(b.list_snapshots(uuid), "baseline") is not None:
        return False
    b.take_snapshot(uuid, "baseline", describe("baseline"), emit)
    return True

_envs = itertools.count(1)
MakeEnv = Callable[..., Environment]


@pytest.fixture
def make_env(maker: Maker) -> MakeEnv:
    """An environment of its own (unique name) with machines created through the backend."""
    def make(*stems: str, **fields: Any) -> Environment:
        name = f"snap{os.getpid()}-{next(_envs)}"
        specs = []
        for stem in stems:
            spec = maker.spec(stem, **fields)
            m = maker.backend.create_machine(spec, tags_for(spec, env=name), maker.emit)
            maker.made.append(m.uuid)
            specs.append(spec)
        return Environment(name, "/p/hosted.yaml", tuple(specs))

    return make


def spec_of(env: Environment, stem: str) -> MachineSpec:
    spec = env.machine(stem)
    assert spec is not None
    return spec


def uuid(maker: Maker, env: Environment, stem: str) -> str:
    m = maker.backend.get_machine(spec_of(env, stem).vm_name)
    assert m is not None
    return str(m.uuid)


def vbox_tree(vm_name: str) -> list[tuple[str, int]]:
    """(name, depth) from VBoxManage: keys SnapshotName-2-1 encode the path in the tree."""
    out = subprocess.run([VBOXMANAGE, "snapshot", vm_name, "list", "--machinereadable"],
                         capture_output=True, text=True, timeout=60).stdout
    tree = []
    for line in out.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.startswith("SnapshotName"):
            tree.append((value.strip('"'), key.count("-")))
    return tree


def change(maker: Maker, env: Environment, stem: str, **fields: Any) -> None:
    spec = replace(spec_of(env, stem), **fields)
    keys = [k for k in fields if k != "nics"] + (["forwards"] if "nics" in fields else [])
    maker.backend.configure(uuid(maker, env, stem), spec, keys, tags_for(spec, env=env.name), maker.emit)


def test_restore_returns_the_configuration_exactly(maker: Maker, make_env: MakeEnv) -> None:
    env = make_env("web", disk_mb=8, nics=(nat(Forward("ssh", 22, None)),))
    vm = spec_of(env, "web").vm_name
    assert all(r.ok for r in save(env, maker.backend, "s1", [], Recorder()))
    before = vboxmanage_info(vm)
    ssh_port = int(before["Forwarding(0)"].split(",")[3])  # name,proto,host ip,HOST PORT,guest ip,guest port
    moved = nat(Forward("ssh", 22, ssh_port), Forward("web", 80, 3557))
    change(maker, env, "web", memory_mb=48, nics=(moved,))
    notes = Path(before["CfgFile"]).parent / "notes.txt"
    notes.write_text("the user's own file")
    changed = vboxmanage_info(vm)
    assert changed["memory"] == "48" and "Forwarding(1)" in changed
    disk_parent = parent_of(before["SATA-0-0"])  # that image goes away with the restore
    assert all(r.ok for r in restore(env, maker.backend, "s1", [], Recorder()))
    after = vboxmanage_info(vm)
    # Restoring replaces the current state's differencing disk with a fresh one of the
    # same parent, and the state-change time moves: everything else is as it was.
    disk_keys = {"SATA-0-0", "SATA-ImageUUID-0-0", "VMStateChangeTime"}
    assert {k: v for k, v in after.items() if k not in disk_keys} == \
           {k: v for k, v in before.items() if k not in disk_keys}
    assert after["memory"] == "32" and "Forwarding(1)" not in after
    assert after["SATA-0-0"] != before["SATA-0-0"] and parent_of(after["SATA-0-0"]) == disk_parent
    assert notes.read_text() == "the user's own file"  # not the snapshot's to remove


def parent_of(medium: str) -> str:
    out = subprocess.run([VBOXMANAGE, "showmediuminfo", medium], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    return next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Parent UUID"))


def test_list_shows_the_tree_with_foreign_snapshots(maker: Maker, make_env: MakeEnv) -> None:
    env = make_env("web", state="poweroff")
    b, vm = maker.backend, spec_of(env, "web").vm_name
    save(env, b, "a", [], Recorder())
    save(env, b, "b", [], Recorder())
    restore(env, b, "a", [], Recorder())
    save(env, b, "c", [], Recorder())
    subprocess.run([VBOXMANAGE, "snapshot", vm, "take", "gui", "--description", "by hand"],
                   check=True, capture_output=True, timeout=60)
    (tree,) = list_snapshots(env, b)
    mine = [(n.info.name, n.depth) for n in tree.nodes]
    assert mine == [("a", 0), ("b", 1), ("c", 1), ("gui", 2)] == vbox_tree(vm)
    assert [n.kind for n in tree.nodes] == ["save", "save", "save", None]
    assert [n.info.current for n in tree.nodes] == [False, False, False, True]
    with pytest.raises(SnapshotError):  # pop never takes a snapshot hosted did not push
        pop(env, b, [], Recorder())
    assert vbox_tree(vm)[-1] == ("gui", 2)


def test_delete_in_the_middle_of_a_chain(maker: Maker, make_env: MakeEnv) -> None:
    env = make_env("db", disk_mb=8, state="poweroff")
    b, vm = maker.backend, spec_of(env, "db").vm_name
    for name, mb in (("a", 32), ("b", 40), ("c", 48)):
        change(maker, env, "db", memory_mb=mb)
        save(env, b, name, [], Recorder())
    rec = Recorder()
    assert delete(env, b, "b", [], rec)[0].ok
    assert any("merge into 'c'" in m for m in rec.messages("info"))
    assert vbox_tree(vm) == [("a", 0), ("c", 1)]
    for name, mb in (("a", "32"), ("c", "48"), ("a", "32")):  # both ends of the merged chain still restore
        assert restore(env, b, name, [], Recorder())[0].ok
        assert vboxmanage_info(vm)["memory"] == mb


def test_reset_with_and_without_a_baseline(maker: Maker, make_env: MakeEnv) -> None:
    env = make_env("web", "db", state="poweroff")
    b = maker.backend
    vms = [s.vm_name for s in env.machines]
    with pytest.raises(SnapshotError, match="no 'baseline'"):
        reset(env, b, [], Recorder())
    assert [vbox_tree(vm) for vm in vms] == [[], []]
    for stem in ("web", "db"):
        assert take_baseline_if_needed(b, uuid(maker, env, stem), stem, Recorder()) is True
        assert take_baseline_if_needed(b, uuid(maker, env, stem), stem, Recorder()) is False
        change(maker, env, stem, memory_mb=64)
    results = reset(env, b, [], Recorder())
    assert [r.ok for r in results] == [True, True]
    for vm in vms:
        info = vboxmanage_info(vm)
        assert (info["memory"], info["VMState"]) == ("32", "poweroff")
        assert vbox_tree(vm) == [("baseline", 0)]


def test_push_and_pop(maker: Maker, make_env: MakeEnv) -> None:
    env = make_env("web", state="poweroff")
    b, vm = maker.backend, spec_of(env, "web").vm_name
    assert push(env, b, [], Recorder())[0].ok
    change(maker, env, "web", memory_mb=40)
    assert push(env, b, [], Recorder())[0].ok
    change(maker, env, "web", memory_mb=48)
    assert vbox_tree(vm) == [("push-1", 0), ("push-2", 1)]
    result = pop(env, b, [], Recorder())[0]
    assert result.ok, result.error
    assert vboxmanage_info(vm)["memory"] == "40" and vbox_tree(vm) == [("push-1", 0)]
    assert pop(env, b, [], Recorder())[0].ok
    assert vboxmanage_info(vm)["memory"] == "32" and vbox_tree(vm) == []


def test_live_snapshot_of_a_started_machine_and_its_restore(maker: Maker, make_env: MakeEnv) -> None:
    env = make_env("web", nics=(nat(Forward("ssh", 22, None)),))
    b, vm, u = maker.backend, spec_of(env, "web").vm_name, uuid(maker, env, "web")
    b.start(u, "headless", maker.emit)
    assert save(env, b, "live", [], Recorder())[0].ok
    assert vboxmanage_info(vm)["VMState"] == "running"  # a live snapshot does not stop the machine
    assert [s.online for s in b.list_snapshots(u)] == [True]
    with pytest.raises(ConfirmationRequired):  # would discard the running state: refused, unchanged
        restore(env, b, "live", [], Recorder())
    assert vboxmanage_info(vm)["VMState"] == "running"
    assert restore(env, b, "live", [], Recorder(), yes=True)[0].ok
    assert vboxmanage_info(vm)["VMState"] == "running"  # back to the snapshot's power state
    assert take_baseline_if_needed(b, u, "web", Recorder())
    b.stop(u, "poweroff", 0, maker.emit)
    assert reset(env, b, [], Recorder())[0].ok  # off: nothing to confirm
    info = vboxmanage_info(vm)
    assert info["VMState"] == "running" and info["CurrentSnapshotName"] == "baseline"
    b.stop(u, "poweroff", 0, maker.emit)
