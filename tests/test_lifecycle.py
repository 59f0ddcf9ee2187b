"""halt / suspend / resume on the double: idempotent, per machine, own machines only."""

from __future__ import annotations

from pathlib import Path

import pytest
from double import MemoryBackend
from factories import env, spec

from hosted import api
from hosted.errors import MachineNotFound, OperationFailed
from hosted.events import Recorder
from hosted.model import Environment, PowerState
from hosted.ports import PortAllocator
from hosted.run import MachineResult

ENV = env(spec("web", memory_mb=64), spec("db", memory_mb=64))


def halt(e: Environment, b: MemoryBackend, names: list[str], rec: Recorder,
         **kw: object) -> list[MachineResult]:
    return api.halt(e, names, on_event=rec, backend=b, **kw).machines  # type: ignore[arg-type]


def suspend(e: Environment, b: MemoryBackend, names: list[str], rec: Recorder) -> list[MachineResult]:
    return api.suspend(e, names, on_event=rec, backend=b).machines


def resume(e: Environment, b: MemoryBackend, names: list[str], rec: Recorder) -> list[MachineResult]:
    return api.resume(e, names, on_event=rec, backend=b).machines


@pytest.fixture
def backend(tmp_path: Path) -> MemoryBackend:
    b = MemoryBackend(root=tmp_path / "vms", ports=PortAllocator(tmp_path / "ports"))
    assert api.up(ENV, backend=b).ok
    return b


def power(b: MemoryBackend) -> dict[str, PowerState]:
    return {m.tags.machine: m.power for m in b.list_machines() if m.tags}


def test_halt_then_halt_again_is_a_noop_with_a_message(backend: MemoryBackend) -> None:
    rec = Recorder()
    results = halt(ENV, backend, [], rec)
    assert all(r.ok and r.changed == ["shut down"] for r in results)
    assert power(backend) == {"web": PowerState.POWEROFF, "db": PowerState.POWEROFF}
    rec2 = Recorder()
    results = halt(ENV, backend, [], rec2)
    assert all(r.changed == [] for r in results)
    assert rec2.messages("step-noop") == ["already poweroff", "already poweroff"]


def test_halt_falls_back_to_power_off_when_the_guest_ignores_acpi(tmp_path: Path) -> None:
    b = MemoryBackend(root=tmp_path / "vms", ports=PortAllocator(tmp_path / "p"), acpi_honoured=False)
    assert api.up(ENV, backend=b).ok
    halt(ENV, b, ["web"], Recorder(), timeout=0.01)
    assert power(b)["web"] == PowerState.POWEROFF


def test_force_powers_off_at_once(backend: MemoryBackend) -> None:
    halt(ENV, backend, ["db"], Recorder(), force=True)
    stop = [c for c in backend.calls if c.method == "stop"]
    assert len(stop) == 1 and "poweroff" in stop[0].args
    assert power(backend) == {"web": PowerState.RUNNING, "db": PowerState.POWEROFF}


def test_suspend_and_resume_round_trip(backend: MemoryBackend) -> None:
    suspend(ENV, backend, ["web"], Recorder())
    assert power(backend)["web"] == PowerState.SAVED
    rec = Recorder()
    suspend(ENV, backend, ["web"], rec)
    assert rec.messages("step-noop") == ["already suspended"]
    resume(ENV, backend, ["web"], Recorder())
    assert power(backend)["web"] == PowerState.RUNNING
    rec = Recorder()
    resume(ENV, backend, [], rec)
    assert rec.messages("step-noop") == ["already running", "already running"]


def test_halting_a_suspended_machine_keeps_its_state_unless_forced(backend: MemoryBackend) -> None:
    suspend(ENV, backend, ["web"], Recorder())
    rec = Recorder()
    halt(ENV, backend, ["web"], rec)
    assert power(backend)["web"] == PowerState.SAVED
    assert "--force" in rec.messages("step-noop")[0]


def test_unknown_machine_is_an_error_naming_it(backend: MemoryBackend) -> None:
    with pytest.raises(MachineNotFound, match="nope"):
        halt(ENV, backend, ["nope"], Recorder())


def test_one_failure_is_reported_and_the_others_go_on(backend: MemoryBackend) -> None:
    backend.fail_next("stop", OperationFailed("session busy"))
    results = halt(ENV, backend, [], Recorder(), force=True)
    assert [r.ok for r in results] == [False, True]
    assert results[0].error is not None and "session busy" in results[0].error.message


def test_foreign_machines_are_never_touched(backend: MemoryBackend) -> None:
    foreign = backend.add_foreign_machine("mine")
    backend.start(foreign, "headless", Recorder())
    halt(ENV, backend, [], Recorder(), force=True)
    m = backend.get_machine(foreign)
    assert m is not None and m.power == PowerState.RUNNING


def test_machines_halt_at_once_not_one_after_another(backend: MemoryBackend) -> None:
    import threading

    barrier = threading.Barrier(2, timeout=5)
    stop = backend.stop

    def slow_guest(uuid: str, mode: str, timeout: float, emit: object) -> None:
        barrier.wait()  # passes only while both machines are being halted together
        stop(uuid, mode, timeout, emit)  # type: ignore[arg-type]

    backend.stop = slow_guest  # type: ignore[method-assign]
    results = halt(ENV, backend, [], Recorder())
    assert [r.ok for r in results] == [True, True]
    assert power(backend) == {"web": PowerState.POWEROFF, "db": PowerState.POWEROFF}
