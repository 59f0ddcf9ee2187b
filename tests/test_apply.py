"""apply() on the in-memory double: convergence, batching, confirmation, and a
failure injected at every step (a rerun converges, nothing of the user's is lost)."""

from __future__ import annotations

from pathlib import Path

import pytest
from double import MemoryBackend
from factories import env, fwd, nat, spec

from hosted.apply import ApplyOptions, apply
from hosted.errors import ConfirmationRequired, OperationFailed
from hosted.events import Recorder
from hosted.model import Environment, PowerState
from hosted.plan import plan
from hosted.ports import PortAllocator


@pytest.fixture
def backend(tmp_path: Path) -> MemoryBackend:
    return MemoryBackend(root=tmp_path / "vms", ports=PortAllocator(tmp_path / "ports"))


def up(e: Environment, b: MemoryBackend, **options: object) -> object:
    rec = Recorder()
    result = apply(plan(e, b.list_machines()), e, b, rec, ApplyOptions(**options))  # type: ignore[arg-type]
    return result


def converged(e: Environment, b: MemoryBackend) -> bool:
    return not plan(e, b.list_machines()).has_actions


WORKSHOP = env(
    spec("web", memory_mb=256, cpus=2, nics=(nat(fwd(22, None, "ssh"), fwd(80, 8080)),)),
    spec("db", state="poweroff", memory_mb=128, disk_mb=64),
)


def test_up_creates_and_starts_then_is_a_noop(backend: MemoryBackend) -> None:
    result = up(WORKSHOP, backend)
    assert result.ok  # type: ignore[attr-defined]
    machines = {m.tags.machine: m for m in backend.list_machines() if m.tags}
    assert machines["web"].power == PowerState.RUNNING
    assert machines["db"].power == PowerState.POWEROFF
    assert machines["web"].memory_mb == 256 and machines["web"].cpus == 2
    assert converged(WORKSHOP, backend)
    calls_before = len(backend.calls)
    assert up(WORKSHOP, backend).ok  # type: ignore[attr-defined]
    mutating = {"create_machine", "configure", "start", "stop", "destroy"}
    assert not [c for c in backend.calls[calls_before:] if c.method in mutating]


def test_changes_of_one_machine_share_one_save(backend: MemoryBackend) -> None:
    before = env(spec("db", state="poweroff", memory_mb=128, cpus=1))
    assert up(before, backend).ok  # type: ignore[attr-defined]
    saves = len(backend.saves)
    after = env(spec("db", state="poweroff", memory_mb=256, cpus=2, os_type="Debian_64"))
    assert up(after, backend).ok  # type: ignore[attr-defined]
    assert backend.count("configure") == 1
    assert len(backend.saves) == saves + 1
    assert converged(after, backend)


def test_restart_needs_confirmation_and_nothing_changes_without_it(backend: MemoryBackend) -> None:
    running = env(spec("web", memory_mb=128))
    assert up(running, backend).ok  # type: ignore[attr-defined]
    bigger = env(spec("web", memory_mb=256))
    with pytest.raises(ConfirmationRequired, match="no terminal"):
        up(bigger, backend)
    with pytest.raises(ConfirmationRequired, match="not confirmed"):
        up(bigger, backend, confirm=lambda questions: False)
    assert backend.count("stop") == 0 and backend.count("configure") == 0
    asked: list[str] = []
    assert up(bigger, backend, confirm=lambda q: asked.extend(q) or True).ok  # type: ignore[attr-defined]
    assert any("stop" in q for q in asked)
    assert converged(bigger, backend)


@pytest.mark.parametrize("method", ["create_machine", "configure", "start", "stop", "destroy"])
@pytest.mark.parametrize("after", [False, True], ids=["before-work", "lost-reply"])
def test_failure_at_each_step_then_rerun_converges(
    backend: MemoryBackend, method: str, after: bool
) -> None:
    foreign = backend.add_foreign_machine("someone-elses-vm", memory_mb=77)
    first = env(spec("web", memory_mb=128, cpus=1), spec("old", state="poweroff"))
    assert up(first, backend).ok  # type: ignore[attr-defined]
    # The next profile needs every kind of step: destroy "old", restart "web"
    # for a CPU change, create "new".
    second = env(spec("web", memory_mb=128, cpus=2), spec("new", memory_mb=64))
    backend.fail_next(method, OperationFailed(f"injected {method} failure"), after=after)
    result = up(second, backend, yes=True)
    assert not result.ok  # type: ignore[attr-defined]
    assert "injected" in result.failed[0].error.message  # type: ignore[attr-defined]
    rerun = up(second, backend, yes=True)
    assert rerun.ok, [m.error for m in rerun.failed]  # type: ignore[attr-defined]
    assert converged(second, backend)
    mine = sorted(m.tags.machine for m in backend.list_machines() if m.tags)
    assert mine == ["new", "web"]
    user_vm = backend.get_machine(foreign)
    assert user_vm is not None and user_vm.memory_mb == 77 and user_vm.tags is None


def test_one_machine_failing_does_not_stop_the_others(backend: MemoryBackend) -> None:
    e = env(spec("a", state="poweroff"), spec("b", state="poweroff"))
    backend.fail_next("create_machine", OperationFailed("disk full"))
    result = up(e, backend)
    assert [m.machine for m in result.failed] == ["a"]  # type: ignore[attr-defined]
    assert [m.tags.machine for m in backend.list_machines() if m.tags] == ["b"]


def test_events_report_each_step_and_noop(backend: MemoryBackend) -> None:
    e = env(spec("db", state="poweroff", memory_mb=128))
    rec = Recorder()
    apply(plan(e, backend.list_machines()), e, backend, rec)
    assert any(m.startswith("create demo-db") for m in rec.messages("step-finished"))
    rec2 = Recorder()
    apply(plan(e, backend.list_machines()), e, backend, rec2)
    assert "memory already 128 MB" in rec2.messages("step-noop")


def test_after_start_hook_runs_for_running_machines_only(backend: MemoryBackend) -> None:
    seen: list[str] = []

    def hook(s, uuid, emit):  # type: ignore[no-untyped-def]
        seen.append(s.name)
        return {"ready": 1.0}

    e = env(spec("web"), spec("db", state="poweroff"))
    result = up(e, backend, after_start=hook)
    assert seen == ["web"]
    assert result.machines[0].phases["ready"] == 1.0  # type: ignore[attr-defined]
    seen.clear()
    up(e, backend, after_start=hook)  # already running: still checked (readiness, provisioning)
    assert seen == ["web"]


def test_machines_run_in_parallel_with_steps_of_one_machine_in_order(backend: MemoryBackend) -> None:
    import threading

    barrier = threading.Barrier(3, timeout=5)
    threads: set[str] = set()

    def hook(s, uuid, emit):  # type: ignore[no-untyped-def]
        threads.add(threading.current_thread().name)
        barrier.wait()  # only passes if all three machines are in their hook at once
        return {}

    e = env(spec("a", memory_mb=64), spec("b", memory_mb=64), spec("c", memory_mb=64))
    result = up(e, backend, after_start=hook, parallel=3)
    assert result.ok  # type: ignore[attr-defined]
    assert len(threads) == 3
    for name in "abc":
        uuid = next(m.uuid for m in backend.list_machines() if m.tags and m.tags.machine == name)
        mine = [c.method for c in backend.calls if c.uuid == uuid and c.method in ("configure", "start")]
        assert mine == ["start"]


def test_destroy_forgets_the_machines_pins_and_logs(backend: MemoryBackend) -> None:
    from hosted import paths

    e = env(spec("web", state="poweroff"))
    assert up(e, backend).ok  # type: ignore[attr-defined]
    machine_dir = paths.machine_dir("demo", "web")
    machine_dir.mkdir(parents=True, exist_ok=True)
    (machine_dir / "known_hosts").write_text("hosted-demo-web ssh-ed25519 AAAA\n")
    other = paths.machine_dir("demo", "db")
    other.mkdir(parents=True, exist_ok=True)
    assert up(env(spec("db", state="poweroff")), backend, yes=True).ok  # type: ignore[attr-defined]
    assert not machine_dir.exists()
    assert other.exists()


def test_start_is_refused_when_a_program_holds_a_fixed_host_port(backend: MemoryBackend) -> None:
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        e = env(spec("web", memory_mb=64, nics=(nat(fwd(80, port, "http")),)))
        result = up(e, backend)
        error = result.failed[0].error  # type: ignore[attr-defined]
        assert f"127.0.0.1:{port}" in error.message and "in use by another program" in error.message
        assert backend.count("start") == 0
    assert up(e, backend).ok  # type: ignore[attr-defined]


def test_all_changes_of_a_machine_go_in_one_configure_call(backend: MemoryBackend) -> None:
    before = env(spec("db", state="poweroff", memory_mb=128, cpus=1, disk_mb=16))
    assert up(before, backend).ok  # type: ignore[attr-defined]
    # cpus and disk change, memory does not: the plan has a no-op between the changes.
    after = env(spec("db", state="poweroff", memory_mb=128, cpus=2, disk_mb=32))
    steps = [s.action for s in plan(after, backend.list_machines()).machines[0].steps]
    assert steps.index("noop") < len(steps) - 1 and steps.count("change") == 2
    assert up(after, backend).ok  # type: ignore[attr-defined]
    assert backend.count("configure") == 1
    [call] = [c for c in backend.calls if c.method == "configure"]
    assert set(call.args[0]) == {"cpus", "disk_mb"}
