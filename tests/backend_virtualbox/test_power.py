"""Driverless VMs: start, NAT forward on the host, ACPI stop timeout, save/resume, snapshots."""

from __future__ import annotations

import os
import socket
import time
from dataclasses import replace

import pytest
from vbox_fixtures import tags_for

from backend_virtualbox.conftest import Maker, nat
from hosted.backend.base import GuestInfo
from hosted.errors import OperationFailed, SnapshotError
from hosted.model import Forward, PowerState

pytestmark = pytest.mark.vbox


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def power(maker: Maker, uuid: str) -> PowerState:
    m = maker.backend.get_machine(uuid)
    assert m is not None
    return m.power


def test_start_forward_runtime_change_and_acpi_timeout(maker: Maker) -> None:
    spec = maker.spec("run", nics=(nat(Forward("ssh", 22, None)),))
    m = maker.create(spec)
    b = maker.backend
    b.start(m.uuid, "headless", maker.emit)
    assert power(maker, m.uuid) == PowerState.RUNNING
    port = m.forwards()[0].host
    assert port is not None and listening(port)
    # forwards change while running; other keys need the machine off
    moved = replace(spec, nics=(nat(Forward("ssh", 22, None), Forward("web", 80, 3431)),))
    m2 = b.configure(m.uuid, moved, ["forwards"], tags_for(spec), maker.emit)
    assert {f.name: f.host for f in m2.forwards()} == {"ssh": port, "web": 3431}
    deadline = time.monotonic() + 10
    while not listening(3431) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert listening(3431)
    with pytest.raises(OperationFailed) as err:
        b.configure(m.uuid, replace(spec, memory_mb=48), ["memory_mb"], tags_for(spec), maker.emit)
    assert "powered off" in err.value.message and err.value.hint
    # the BIOS without an OS ignores the ACPI power button: timeout, then power off
    started = time.monotonic()
    b.stop(m.uuid, "acpi", 1.0, maker.emit)
    assert power(maker, m.uuid) == PowerState.POWEROFF
    assert time.monotonic() - started >= 1.0
    assert any("did not power off" in w for w in maker.emit.messages("warning"))
    assert not listening(port)
    logs = b.log_paths(m.uuid)
    assert os.path.exists(logs["vbox"]) and os.path.exists(logs["serial"])


def test_save_state_resume_and_online_snapshot(maker: Maker) -> None:
    m = maker.create(maker.spec("save"))
    b = maker.backend
    b.start(m.uuid, "headless", maker.emit)
    snap = b.take_snapshot(m.uuid, "live", "while running", maker.emit)
    assert snap.online and snap.current and power(maker, m.uuid) == PowerState.RUNNING
    assert b.guest_info(m.uuid) == GuestInfo()  # the guest has no Guest Additions
    b.save_state(m.uuid, maker.emit)
    assert power(maker, m.uuid) == PowerState.SAVED
    b.resume(m.uuid, maker.emit)
    assert power(maker, m.uuid) == PowerState.RUNNING
    with pytest.raises(SnapshotError):
        b.restore_snapshot(m.uuid, snap.id, maker.emit)
    b.stop(m.uuid, "poweroff", 0, maker.emit)
    assert power(maker, m.uuid) == PowerState.POWEROFF


def test_snapshots_take_list_restore_delete(maker: Maker) -> None:
    spec = maker.spec("snap", disk_mb=8)
    m = maker.create(spec)
    b = maker.backend
    first = b.take_snapshot(m.uuid, "first", "base", maker.emit)
    assert not first.online and first.parent_id is None
    b.configure(m.uuid, replace(spec, memory_mb=48), ["memory_mb"], tags_for(spec), maker.emit)
    second = b.take_snapshot(m.uuid, "second", "", maker.emit)
    tree = b.list_snapshots(m.uuid)
    assert [s.name for s in tree] == ["first", "second"]
    assert tree[0].children == (second.id,) and tree[1].parent_id == first.id and tree[1].current
    b.restore_snapshot(m.uuid, first.id, maker.emit)
    assert b.get_machine(m.uuid).memory_mb == 32
    assert [s.current for s in b.list_snapshots(m.uuid)] == [True, False]
    b.delete_snapshot(m.uuid, second.id, maker.emit)
    assert [s.name for s in b.list_snapshots(m.uuid)] == ["first"]
    with pytest.raises(SnapshotError):
        b.delete_snapshot(m.uuid, second.id, maker.emit)
    assert b.get_machine(m.uuid).disk_mb == 8  # hosted's disk is still recognised through the diff image
    b.destroy(m.uuid, maker.emit)
    assert not os.path.exists(os.path.dirname(m.settings_file))
