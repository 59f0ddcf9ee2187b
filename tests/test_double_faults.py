"""The double's own knobs (fault injection, call log, locks, outside changes) do what apply tests rely on."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import pytest
from double import ADDITIONS_VERSION, GUEST_IPV4, MemoryBackend

from hosted.backend.base import GuestInfo
from hosted.errors import BackendUnavailable, MachineLocked, OperationFailed
from hosted.events import Recorder, discard
from hosted.model import Forward, MachineSpec, Nic, PowerState, Tags
from hosted.ports import PortAllocator

SPEC = MachineSpec(name="m", vm_name="env-m", memory_mb=32, disk_mb=8,
                   nics=(Nic("nat", forwards=(Forward("ssh", 22, None),)),))
TAGS = Tags("env", "m", SPEC.config_hash())


@pytest.fixture
def b(tmp_path: Path) -> MemoryBackend:
    return MemoryBackend(root=tmp_path / "vms", ports=PortAllocator(tmp_path / "ports"))


def test_fail_next_raises_once_before_doing_anything(b: MemoryBackend) -> None:
    b.fail_next("create_machine", OperationFailed("boom"))
    with pytest.raises(OperationFailed, match="boom"):
        b.create_machine(SPEC, TAGS, discard)
    assert b.list_machines() == []
    assert b.create_machine(SPEC, TAGS, discard).vm_name == "env-m"


def test_fail_next_after_does_the_work_then_raises(b: MemoryBackend) -> None:
    uuid = b.create_machine(SPEC, TAGS, discard).uuid
    b.fail_next("start", OperationFailed("lost reply"), after=True)
    with pytest.raises(OperationFailed):
        b.start(uuid, "headless", discard)
    assert b.machines[uuid].power == PowerState.RUNNING


def test_faults_target_one_machine_and_count(b: MemoryBackend) -> None:
    one = b.create_machine(SPEC, TAGS, discard).uuid
    two = b.create_machine(replace(SPEC, name="n", vm_name="env-n"), TAGS, discard).uuid
    b.fail_next("configure", OperationFailed("boom"), uuid=two, times=2)
    b.configure(one, replace(SPEC, memory_mb=48), ["memory_mb"], TAGS, discard)
    for _ in range(2):
        with pytest.raises(OperationFailed):
            b.configure(two, replace(SPEC, memory_mb=48), ["memory_mb"], TAGS, discard)
    assert b.machines[two].config.memory_mb == 32
    b.configure(two, replace(SPEC, memory_mb=48), ["memory_mb"], TAGS, discard)
    assert b.faults["configure"] == []


def test_unknown_method_names_are_refused(b: MemoryBackend) -> None:
    with pytest.raises(AttributeError):
        b.fail_next("confgure", OperationFailed("typo"))


def test_call_log_and_one_save_per_configure(b: MemoryBackend) -> None:
    uuid = b.create_machine(SPEC, TAGS, discard).uuid
    saves = len(b.saves)
    b.configure(uuid, replace(SPEC, memory_mb=64, cpus=2), ["memory_mb", "cpus"], TAGS, discard)
    assert len(b.saves) == saves + 1
    assert b.count("configure") == 1 and b.count("configure", uuid) == 1
    assert b.calls[-1].args == (("memory_mb", "cpus"),)


def test_a_held_lock_names_its_holder(b: MemoryBackend) -> None:
    uuid = b.create_machine(SPEC, TAGS, discard).uuid
    with b.hold_lock(uuid, "VBoxManage"), pytest.raises(MachineLocked, match="VBoxManage"):
        b.configure(uuid, SPEC, ["memory_mb"], TAGS, discard)
    b.configure(uuid, SPEC, ["memory_mb"], TAGS, discard)


def test_outside_changes_and_crashes(b: MemoryBackend) -> None:
    uuid = b.create_machine(SPEC, TAGS, discard).uuid
    b.modify(uuid, memory_mb=512)
    assert b.get_machine(uuid).memory_mb == 512  # type: ignore[union-attr]
    b.start(uuid, "headless", discard)
    b.set_guest_property(uuid, ADDITIONS_VERSION, "7.2.0", transient=False)
    b.set_guest_property(uuid, GUEST_IPV4, "10.0.2.15")
    assert b.guest_info(uuid) == GuestInfo("7.2.0", "10.0.2.15")
    b.set_power(uuid, PowerState.ABORTED)
    assert b.guest_info(uuid) == GuestInfo("7.2.0", None)  # transient properties go at power-off
    b.start(uuid, "headless", discard)  # an aborted machine starts again
    b.make_inaccessible(uuid)
    assert b.get_machine(uuid).accessible is False  # type: ignore[union-attr]


def test_a_guest_that_ignores_acpi_gets_powered_off_with_a_warning(tmp_path: Path) -> None:
    b = MemoryBackend(root=tmp_path, ports=PortAllocator(tmp_path / "ports"), acpi_honoured=False)
    uuid = b.create_machine(SPEC, TAGS, discard).uuid
    b.start(uuid, "headless", discard)
    rec = Recorder()
    b.stop(uuid, "acpi", 5, rec)
    assert b.machines[uuid].power == PowerState.POWEROFF
    assert rec.messages("warning")


def test_threads_creating_at_once_get_distinct_auto_ports(b: MemoryBackend) -> None:
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def create(i: int) -> None:
        try:
            barrier.wait(10)
            b.create_machine(replace(SPEC, name=f"m{i}", vm_name=f"env-m{i}"), TAGS, discard)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    ports = [f.host for m in b.list_machines() for f in m.forwards()]
    assert len(ports) == 6 and len(set(ports)) == 6


def test_a_closed_backend_is_unavailable(b: MemoryBackend) -> None:
    b.close()
    with pytest.raises(BackendUnavailable):
        b.list_machines()
