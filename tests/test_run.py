"""The runner on the in-memory double, through the public API: convergence, one
configure call per machine, confirmation, parallel machines, and a failure injected
at every backend call (a rerun converges, nothing of the user's is lost)."""

from __future__ import annotations

from pathlib import Path

import pytest
from double import MemoryBackend
from factories import env, fwd, nat, spec

from hosted import api
from hosted.errors import ConfirmationRequired, OperationFailed
from hosted.events import Recorder
from hosted.facts import Facts
from hosted.model import Environment, PowerState
from hosted.planner import Plan
from hosted.planner import plan as plan_up
from hosted.ports import PortAllocator
from hosted.run import RunResult


@pytest.fixture
def backend(tmp_path: Path) -> MemoryBackend:
    return MemoryBackend(root=tmp_path / "vms", ports=PortAllocator(tmp_path / "ports"))


def up(e: Environment, b: MemoryBackend, **options: object) -> RunResult:
    """``up`` without waiting for SSH: the double's guests run no sshd (see test_run_guest)."""
    options.setdefault("wait", False)
    return api.up(e, on_event=Recorder(), backend=b, **options)  # type: ignore[arg-type]


def plan(e: Environment, b: MemoryBackend) -> Plan:
    return plan_up(e, Facts(machines=tuple(b.list_machines())))


def converged(e: Environment, b: MemoryBackend) -> bool:
    return not api.plan(e, backend=b, wait=False).has_actions


WORKSHOP = env(
    spec("web", memory_mb=256, cpus=2, nics=(nat(fwd(22, None, "ssh"), fwd(80, 8080)),)),
    spec("db", state="poweroff", memory_mb=128, disk_mb=64),
)


def test_up_creates_and_starts_then_is_a_noop(backend: MemoryBackend) -> None:
    result = up(WORKSHOP, backend)
    assert result.ok
    machines = {m.tags.machine: m for m in backend.list_machines() if m.tags}
    assert machines["web"].power == PowerState.RUNNING
    assert machines["db"].power == PowerState.POWEROFF
    assert machines["web"].memory_mb == 256 and machines["web"].cpus == 2
    assert converged(WORKSHOP, backend)
    calls_before = len(backend.calls)
    assert up(WORKSHOP, backend).ok
    mutating = {"create_machine", "configure", "start", "stop", "destroy"}
    assert not [c for c in backend.calls[calls_before:] if c.method in mutating]


def test_changes_of_one_machine_share_one_save(backend: MemoryBackend) -> None:
    before = env(spec("db", state="poweroff", memory_mb=128, cpus=1))
    assert up(before, backend).ok
    saves = len(backend.saves)
    after = env(spec("db", state="poweroff", memory_mb=256, cpus=2, os_type="Debian_64"))
    assert up(after, backend).ok
    assert backend.count("configure") == 1
    assert len(backend.saves) == saves + 1
    assert converged(after, backend)


def test_restart_needs_confirmation_and_nothing_changes_without_it(backend: MemoryBackend) -> None:
    running = env(spec("web", memory_mb=128))
    assert up(running, backend).ok
    bigger = env(spec("web", memory_mb=256))
    with pytest.raises(ConfirmationRequired, match="no terminal"):
        up(bigger, backend)
    with pytest.raises(ConfirmationRequired, match="not confirmed"):
        up(bigger, backend, confirm=lambda questions: False)
    assert backend.count("stop") == 0 and backend.count("configure") == 0
    asked: list[str] = []
    assert up(bigger, backend, confirm=lambda q: asked.extend(q) or True).ok
    assert any("shut down (to apply: memory)" in q for q in asked)
    assert converged(bigger, backend)


@pytest.mark.parametrize("method", ["create_machine", "configure", "start", "stop", "destroy"])
@pytest.mark.parametrize("after", [False, True], ids=["before-work", "lost-reply"])
def test_failure_at_each_step_then_rerun_converges(
    backend: MemoryBackend, method: str, after: bool
) -> None:
    foreign = backend.add_foreign_machine("someone-elses-vm", memory_mb=77)
    first = env(spec("web", memory_mb=128, cpus=1), spec("old", state="poweroff"))
    assert up(first, backend).ok
    # The next profile needs every kind of step: destroy "old", restart "web"
    # for a CPU change, create "new".
    second = env(spec("web", memory_mb=128, cpus=2), spec("new", memory_mb=64))
    backend.fail_next(method, OperationFailed(f"injected {method} failure"), after=after)
    result = up(second, backend, yes=True)
    assert not result.ok
    assert "injected" in result.failed[0].error.message
    rerun = up(second, backend, yes=True)
    assert rerun.ok, [m.error for m in rerun.failed]
    assert converged(second, backend)
    mine = sorted(m.tags.machine for m in backend.list_machines() if m.tags)
    assert mine == ["new", "web"]
    user_vm = backend.get_machine(foreign)
    assert user_vm is not None and user_vm.memory_mb == 77 and user_vm.tags is None


def test_one_machine_failing_does_not_stop_the_others(backend: MemoryBackend) -> None:
    e = env(spec("a", state="poweroff"), spec("b", state="poweroff"))
    backend.fail_next("create_machine", OperationFailed("disk full"))
    result = up(e, backend)
    assert [m.machine for m in result.failed] == ["a"]
    assert [m.tags.machine for m in backend.list_machines() if m.tags] == ["b"]


def test_events_report_each_step_and_noop(backend: MemoryBackend) -> None:
    e = env(spec("db", state="poweroff", memory_mb=128))
    rec = Recorder()
    api.up(e, on_event=rec, backend=backend)
    assert "create demo-db: 128 MB" in rec.messages("step-started")
    assert "create demo-db: 128 MB" in rec.messages("step-finished")
    rec2 = Recorder()
    api.up(e, on_event=rec2, backend=backend)
    assert "memory already 128 MB" in rec2.messages("step-noop")
    assert rec2.messages("step-finished") == []


def test_machines_run_in_parallel_with_steps_of_one_machine_in_order(backend: MemoryBackend) -> None:
    import threading

    barrier = threading.Barrier(3, timeout=5)
    threads: set[str] = set()
    start = backend.start

    def slow_boot(uuid: str, mode: str, emit: object) -> None:
        threads.add(threading.current_thread().name)
        barrier.wait()  # only passes if all three machines are starting at once
        start(uuid, mode, emit)  # type: ignore[arg-type]

    backend.start = slow_boot  # type: ignore[method-assign]
    e = env(spec("a", memory_mb=64), spec("b", memory_mb=64), spec("c", memory_mb=64))
    result = up(e, backend, parallel=3)
    assert result.ok
    assert len(threads) == 3
    for name in "abc":
        uuid = next(m.uuid for m in backend.list_machines() if m.tags and m.tags.machine == name)
        mine = [c.method for c in backend.calls if c.uuid == uuid and c.method in ("configure", "start")]
        assert mine == ["start"]


def test_a_repeatable_step_is_tried_again_after_a_temporary_error(backend: MemoryBackend) -> None:
    from hosted.errors import MachineLocked
    from hosted.run import RunOptions, run

    e = env(spec("db", state="poweroff", memory_mb=128))
    assert up(e, backend).ok
    bigger = env(spec("db", state="poweroff", memory_mb=256))
    backend.fail_next("configure", MachineLocked("locked by the GUI", "close it"), times=2)
    slept: list[float] = []

    class Clock:
        def now(self) -> float:
            return 0.0

        def sleep(self, seconds: float) -> None:
            slept.append(seconds)

    rec = Recorder()
    result = run(plan(bigger, backend), bigger, backend, rec, RunOptions(clock=Clock(), retry_pause=0.5))
    assert result.ok and slept == [0.5, 1.0]
    assert sum("trying again" in w for w in rec.messages("warning")) == 2
    backend.fail_next("configure", MachineLocked("locked by the GUI", "close it"), times=3)
    result = run(plan(env(spec("db", state="poweroff", memory_mb=64)), backend),
                 bigger, backend, Recorder(), RunOptions(clock=Clock(), retries=2))
    assert not result.ok and "locked by the GUI" in result.failed[0].error.message  # type: ignore[union-attr]


def test_a_step_that_is_not_repeatable_is_not_tried_again(backend: MemoryBackend) -> None:
    from hosted.errors import MachineLocked

    backend.fail_next("create_machine", MachineLocked("locked", "close it"))
    result = up(env(spec("db", state="poweroff")), backend)
    assert not result.ok and backend.count("create_machine") == 1


def test_destroy_forgets_the_machines_pins_and_logs(backend: MemoryBackend) -> None:
    from hosted import paths

    e = env(spec("web", state="poweroff"))
    assert up(e, backend).ok
    machine_dir = paths.machine_dir("demo", "web")
    machine_dir.mkdir(parents=True, exist_ok=True)
    (machine_dir / "known_hosts").write_text("hosted-demo-web ssh-ed25519 AAAA\n")
    other = paths.machine_dir("demo", "db")
    other.mkdir(parents=True, exist_ok=True)
    assert up(env(spec("db", state="poweroff")), backend, yes=True).ok
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
        error = result.failed[0].error
        assert f"127.0.0.1:{port}" in error.message and "in use by another program" in error.message
        assert backend.count("start") == 0
    assert up(e, backend).ok


def test_all_changes_of_a_machine_go_in_one_configure_call(backend: MemoryBackend) -> None:
    before = env(spec("db", state="poweroff", memory_mb=128, cpus=1, disk_mb=16))
    assert up(before, backend).ok
    # cpus and disk change, memory does not: the plan has a no-op between the changes.
    after = env(spec("db", state="poweroff", memory_mb=128, cpus=2, disk_mb=32))
    steps = [s.kind for s in plan(after, backend).machines[0].steps]
    assert steps.count("noop") >= 1 and steps.count("configure") == 1
    assert up(after, backend).ok
    assert backend.count("configure") == 1
    [call] = [c for c in backend.calls if c.method == "configure"]
    assert set(call.args[0]) == {"cpus", "disk_mb"}


def test_a_plan_with_work_first_recovers_what_a_killed_run_left(backend: MemoryBackend) -> None:
    e = env(spec("db", state="poweroff", memory_mb=64))
    assert up(e, backend).ok
    assert backend.count("recover") == 1
    assert up(e, backend).ok  # nothing to do: nothing is swept either
    assert backend.count("recover") == 1
