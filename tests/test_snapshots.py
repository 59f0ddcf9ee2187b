"""Snapshots and reset on the double: names, foreign snapshots, push/pop, chains,
per-machine failures, confirmation, and the CLI's list/restore."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from double import MemoryBackend
from factories import env, spec

from hosted import api
from hosted.errors import ConfirmationRequired, OperationFailed, SnapshotError, UsageError
from hosted.events import Emit, Recorder
from hosted.model import Environment, PowerState, SnapshotInfo
from hosted.ports import PortAllocator
from hosted.run import MachineResult
from hosted.snapshots import MachineSnapshots, describe, find, kind_of

ENV = env(spec("web", memory_mb=64), spec("db", memory_mb=64, state="poweroff"))
Results = list[MachineResult]


def save(e: Environment, b: MemoryBackend, name: str, names: list[str], rec: Emit, **kw: object) -> Results:
    return api.snapshot_save(e, name, names, on_event=rec, backend=b, **kw).machines  # type: ignore[arg-type]


def restore(e: Environment, b: MemoryBackend, name: str, names: list[str], rec: Emit,
            **kw: object) -> Results:
    return api.snapshot_restore(e, name, names, on_event=rec, backend=b, **kw).machines  # type: ignore[arg-type]


def delete(e: Environment, b: MemoryBackend, name: str, names: list[str], rec: Emit) -> Results:
    return api.snapshot_delete(e, name, names, on_event=rec, backend=b).machines


def push(e: Environment, b: MemoryBackend, names: list[str], rec: Emit) -> Results:
    return api.snapshot_push(e, names, on_event=rec, backend=b).machines


def pop(e: Environment, b: MemoryBackend, names: list[str], rec: Emit, **kw: object) -> Results:
    return api.snapshot_pop(e, names, on_event=rec, backend=b, **kw).machines  # type: ignore[arg-type]


def reset(e: Environment, b: MemoryBackend, names: list[str], rec: Emit, **kw: object) -> Results:
    return api.reset(e, names, on_event=rec, backend=b, **kw).machines  # type: ignore[arg-type]


def list_snapshots(e: Environment, b: MemoryBackend, names: tuple[str, ...] | list[str] = (),
                   ) -> list[MachineSnapshots]:
    return api.snapshot_list(e, names, backend=b)


def take_baseline(b: MemoryBackend, uuid: str) -> None:
    if find(b.list_snapshots(uuid), "baseline") is None:
        b.take_snapshot(uuid, "baseline", describe("baseline"), Recorder())


@pytest.fixture
def backend(tmp_path: Path) -> MemoryBackend:
    b = MemoryBackend(root=tmp_path / "vms", ports=PortAllocator(tmp_path / "ports"))
    assert api.up(ENV, backend=b).ok
    return b


def uuid(b: MemoryBackend, name: str) -> str:
    return next(m.uuid for m in b.list_machines() if m.tags and m.tags.machine == name)


def snaps(b: MemoryBackend, name: str) -> dict[str, SnapshotInfo]:
    return {s.name: s for s in b.list_snapshots(uuid(b, name))}


def memory(b: MemoryBackend, name: str) -> int:
    m = b.get_machine(uuid(b, name))
    assert m is not None
    return m.memory_mb


def power(b: MemoryBackend, name: str) -> PowerState:
    m = b.get_machine(uuid(b, name))
    assert m is not None
    return m.power


def mutating(b: MemoryBackend, since: int) -> list[str]:
    writes = {"take_snapshot", "restore_snapshot", "delete_snapshot", "stop", "start", "resume"}
    return [c.method for c in b.calls[since:] if c.method in writes]


def test_save_list_restore_round_trip(backend: MemoryBackend) -> None:
    rec = Recorder()
    results = save(ENV, backend, "before", [], rec)
    assert [r.ok for r in results] == [True, True]
    web = snaps(backend, "web")["before"]
    assert web.online and not snaps(backend, "db")["before"].online  # web runs: a live snapshot
    assert kind_of(web) == "save"
    assert any("live snapshot" in m for m in rec.messages("info"))
    backend.modify(uuid(backend, "db"), memory_mb=512)
    backend.set_power(uuid(backend, "web"), PowerState.POWEROFF)
    backend.modify(uuid(backend, "web"), memory_mb=1024)
    assert all(r.ok for r in restore(ENV, backend, "before", [], Recorder()))
    assert memory(backend, "web") == 64 and memory(backend, "db") == 64
    assert power(backend, "web") == PowerState.RUNNING  # the snapshot's power state
    assert power(backend, "db") == PowerState.POWEROFF
    trees = list_snapshots(ENV, backend)
    assert [(t.machine, [(n.info.name, n.info.current) for n in t.nodes]) for t in trees] == [
        ("web", [("before", True)]), ("db", [("before", True)])]


def test_saving_a_taken_name_is_refused_everywhere(backend: MemoryBackend) -> None:
    save(ENV, backend, "x", ["web"], Recorder())
    before = len(backend.calls)
    with pytest.raises(SnapshotError, match="web already has a snapshot named 'x'"):
        save(ENV, backend, "x", [], Recorder())
    assert mutating(backend, before) == []
    assert "x" not in snaps(backend, "db")


def test_force_replaces_with_the_new_state(backend: MemoryBackend) -> None:
    save(ENV, backend, "x", ["db"], Recorder())
    old_id = snaps(backend, "db")["x"].id
    backend.modify(uuid(backend, "db"), memory_mb=300)
    assert save(ENV, backend, "x", ["db"], Recorder(), force=True)[0].ok
    assert list(snaps(backend, "db")) == ["x"] and snaps(backend, "db")["x"].id != old_id
    backend.modify(uuid(backend, "db"), memory_mb=900)
    restore(ENV, backend, "x", ["db"], Recorder())
    assert memory(backend, "db") == 300


def test_force_is_refused_when_virtualbox_could_not_merge_the_old_one(backend: MemoryBackend) -> None:
    for name in ("x", "y"):
        save(ENV, backend, name, ["db"], Recorder())
    restore(ENV, backend, "x", ["db"], Recorder())  # current again, with child y: one more would be two
    before = len(backend.calls)
    with pytest.raises(SnapshotError, match="2 children"):
        save(ENV, backend, "x", ["db"], Recorder(), force=True)
    assert mutating(backend, before) == []


def test_force_rolls_back_the_new_snapshot_when_the_old_one_stays(backend: MemoryBackend) -> None:
    save(ENV, backend, "x", ["db"], Recorder())
    old_id = snaps(backend, "db")["x"].id
    backend.fail_next("delete_snapshot", OperationFailed("medium locked"))
    result = save(ENV, backend, "x", ["db"], Recorder(), force=True)[0]
    assert result.error is not None and "medium locked" in result.error.message
    assert [s.id for s in backend.list_snapshots(uuid(backend, "db"))] == [old_id]


def test_foreign_snapshots_are_listed_but_never_popped(backend: MemoryBackend) -> None:
    db = uuid(backend, "db")
    backend.take_snapshot(db, "push-5", "made in the VirtualBox GUI", Recorder())
    node = list_snapshots(ENV, backend, ["db"])[0].nodes[0]
    assert node.info.name == "push-5" and node.kind is None
    with pytest.raises(SnapshotError, match="nothing was changed"):
        pop(ENV, backend, ["db"], Recorder())
    push(ENV, backend, ["db"], Recorder())  # numbering steps over the foreign one
    assert list(snaps(backend, "db")) == ["push-5", "push-6"]
    pop(ENV, backend, ["db"], Recorder())
    assert list(snaps(backend, "db")) == ["push-5"]
    with pytest.raises(SnapshotError):
        pop(ENV, backend, ["db"], Recorder())
    assert delete(ENV, backend, "push-5", ["db"], Recorder())[0].ok  # named explicitly: deleted
    assert snaps(backend, "db") == {}


def test_push_pop_undo_in_order(backend: MemoryBackend) -> None:
    db = uuid(backend, "db")
    push(ENV, backend, [], Recorder())
    backend.modify(db, memory_mb=100)
    push(ENV, backend, [], Recorder())
    assert list(snaps(backend, "db")) == ["push-1", "push-2"]
    assert list(snaps(backend, "web")) == ["push-1", "push-2"]
    backend.modify(db, memory_mb=200)
    assert all(r.ok for r in pop(ENV, backend, [], Recorder(), yes=True))
    assert memory(backend, "db") == 100 and list(snaps(backend, "db")) == ["push-1"]
    assert power(backend, "web") == PowerState.RUNNING  # pushed live, popped back to running
    pop(ENV, backend, [], Recorder(), yes=True)
    assert memory(backend, "db") == 64 and snaps(backend, "db") == {}


def test_baseline_is_taken_once(backend: MemoryBackend) -> None:
    from hosted.planner import MachinePlan, Plan
    from hosted.run import run
    from hosted.steps import TakeBaseline

    web = uuid(backend, "web")
    steps = (TakeBaseline(machine="web"), TakeBaseline(machine="web"))
    twice = Plan("demo", "up", (MachinePlan("web", "demo-web", web, steps, ENV.machines[0]),))
    rec = Recorder()
    assert run(twice, ENV, backend, rec).ok
    assert [kind_of(s) for s in backend.list_snapshots(web)] == ["baseline"]
    assert any("was taken meanwhile; kept" in m for m in rec.messages("info"))


def test_reset_restores_baseline_and_the_desired_state(backend: MemoryBackend) -> None:
    for name in ("web", "db"):
        take_baseline(backend, uuid(backend, name))
    backend.modify(uuid(backend, "db"), memory_mb=700)
    backend.start(uuid(backend, "db"), "headless", Recorder())  # db should be off
    results = reset(ENV, backend, [], Recorder(), yes=True)
    assert [r.ok for r in results] == [True, True]
    assert memory(backend, "db") == 64 and power(backend, "db") == PowerState.POWEROFF
    assert power(backend, "web") == PowerState.RUNNING
    assert results[0].changed[-1] == "resume from the saved state (the baseline holds a running state)"
    assert not any(c.startswith(("start", "resume")) for c in results[1].changed)


def test_reset_of_a_stopped_machine_with_an_offline_baseline_starts_it(backend: MemoryBackend) -> None:
    web = uuid(backend, "web")
    backend.stop(web, "poweroff", 0, Recorder())
    take_baseline(backend, web)
    assert reset(ENV, backend, ["web"], Recorder())[0].ok
    assert power(backend, "web") == PowerState.RUNNING and backend.count("start", web) == 2


def test_reset_without_baseline_says_so_and_changes_nothing(backend: MemoryBackend) -> None:
    before = len(backend.calls)
    with pytest.raises(SnapshotError, match="no 'baseline' snapshot"):
        reset(ENV, backend, [], Recorder(), yes=True)
    take_baseline(backend, uuid(backend, "web"))
    with pytest.raises(SnapshotError, match="db: no 'baseline'"):
        reset(ENV, backend, ["web", "db"], Recorder(), yes=True)
    assert mutating(backend, before) == ["take_snapshot"]
    rec = Recorder()
    results = reset(ENV, backend, [], rec, yes=True)
    noops = [(e.machine, e.message) for e in rec.events if e.kind == "step-noop"]
    assert results[1].changed == [] and ("db", "no 'baseline' snapshot; nothing was changed") in noops
    assert results[0].changed[:2] == [
        "power off", "restore snapshot 'baseline' (discards its current running state)"]


def test_delete_in_the_middle_of_a_chain_merges_into_the_child(backend: MemoryBackend) -> None:
    for name in ("a", "b", "c"):
        save(ENV, backend, name, ["db"], Recorder())
    rec = Recorder()
    assert delete(ENV, backend, "b", ["db"], rec)[0].ok
    assert any("merge into 'c'" in m for m in rec.messages("info"))
    nodes = list_snapshots(ENV, backend, ["db"])[0].nodes
    assert [(n.info.name, n.depth) for n in nodes] == [("a", 0), ("c", 1)]


def test_delete_with_several_children_is_refused(backend: MemoryBackend) -> None:
    for name in ("a", "b"):
        save(ENV, backend, name, ["db"], Recorder())
    restore(ENV, backend, "a", ["db"], Recorder())
    save(ENV, backend, "c", ["db"], Recorder())
    with pytest.raises(SnapshotError, match="several children"):
        delete(ENV, backend, "a", ["db"], Recorder())
    assert set(snaps(backend, "db")) == {"a", "b", "c"}


def test_deleting_the_current_snapshot_with_a_child_is_refused(backend: MemoryBackend) -> None:
    # VirtualBox refuses it (VBOX_E_INVALID_OBJECT_STATE); the double does not model that rule.
    for name in ("a", "b"):
        save(ENV, backend, name, [], Recorder())
    restore(ENV, backend, "a", [], Recorder(), yes=True)
    before = len(backend.calls)
    with pytest.raises(SnapshotError, match="current snapshot and has a child"):
        delete(ENV, backend, "a", [], Recorder())
    assert mutating(backend, before) == [] and set(snaps(backend, "db")) == {"a", "b"}


def test_pop_refuses_when_something_was_taken_after_the_push(backend: MemoryBackend) -> None:
    push(ENV, backend, [], Recorder())
    backend.take_snapshot(uuid(backend, "db"), "gui", "by hand", Recorder())
    before = len(backend.calls)
    with pytest.raises(SnapshotError, match=r"db \(gui\)"):
        pop(ENV, backend, [], Recorder(), yes=True)
    assert mutating(backend, before) == [] and set(snaps(backend, "web")) == {"push-1"}


def test_one_machine_fails_with_its_reason_the_other_is_done(backend: MemoryBackend) -> None:
    backend.fail_next("take_snapshot", OperationFailed("disk full"), uuid=uuid(backend, "db"))
    results = save(ENV, backend, "x", [], Recorder())
    assert results[0].ok and results[1].error is not None and "disk full" in results[1].error.message
    assert "x" in snaps(backend, "web") and snaps(backend, "db") == {}
    save(ENV, backend, "y", ["db"], Recorder())
    backend.fail_next("restore_snapshot", OperationFailed("locked"), uuid=uuid(backend, "web"))
    save(ENV, backend, "y", ["web"], Recorder())
    backend.modify(uuid(backend, "db"), memory_mb=333)
    results = restore(ENV, backend, "y", [], Recorder(), yes=True)
    assert [r.ok for r in results] == [False, True] and memory(backend, "db") == 64


def test_restoring_a_running_machine_needs_confirmation(backend: MemoryBackend) -> None:
    save(ENV, backend, "x", [], Recorder())
    before = len(backend.calls)
    with pytest.raises(ConfirmationRequired, match="web"):
        restore(ENV, backend, "x", [], Recorder())
    asked: list[str] = []

    def no(questions: Any) -> bool:
        asked.extend(questions)
        return False

    with pytest.raises(ConfirmationRequired, match="not confirmed"):
        restore(ENV, backend, "x", [], Recorder(), confirm=no)
    assert asked == ["web (demo-web): restore snapshot 'x' (discards its current running state)"]
    assert mutating(backend, before) == []
    assert all(r.ok for r in restore(ENV, backend, "x", [], Recorder(), confirm=lambda q: True))


def test_machines_are_worked_on_in_parallel(tmp_path: Path) -> None:
    barrier = threading.Barrier(2, timeout=5)

    class Rendezvous(MemoryBackend):
        def take_snapshot(self, uuid: str, name: str, description: str, emit: Emit) -> SnapshotInfo:
            barrier.wait()  # both machines must be in here at once
            return super().take_snapshot(uuid, name, description, emit)

    b = Rendezvous(root=tmp_path / "vms", ports=PortAllocator(tmp_path / "ports"))
    assert api.up(ENV, backend=b).ok
    assert [r.ok for r in save(ENV, b, "x", [], Recorder(), parallel=2)] == [True, True]


@pytest.mark.parametrize("name", ["", " x", "a\nb"])
def test_bad_names_are_refused(backend: MemoryBackend, name: str) -> None:
    with pytest.raises(UsageError):
        save(ENV, backend, name, [], Recorder())


# ---- the CLI ---------------------------------------------------------------

PROFILE = """\
version: 1
name: demo
machines:
  web: {memory: 64M}
  db: {memory: 64M, state: poweroff}
"""
_shared: dict[str, MemoryBackend] = {}


class _Session:
    """The composition root closes its backend after each command; the test's lives on."""

    def __init__(self, b: MemoryBackend) -> None:
        self._b = b

    def __getattr__(self, name: str) -> Any:
        return getattr(self._b, name)

    def close(self) -> None:
        pass


def cli_backend() -> _Session:
    return _Session(_shared["b"])


@pytest.fixture
def cli(backend: MemoryBackend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    _shared["b"] = backend
    monkeypatch.setenv("HOSTED_BACKEND", f"{__name__}:cli_backend")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "120")
    path = tmp_path / "hosted.yaml"
    path.write_text(PROFILE)
    yield path
    _shared.clear()


def run(*argv: str) -> int:
    from hosted.cli.main import main

    return main(list(argv))


def test_cli_list_json_is_a_versioned_nested_tree(cli: Path, backend: MemoryBackend,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert run("snapshot", "save", "a", "db", "-f", str(cli)) == 0
    assert run("snapshot", "push", "db", "-f", str(cli)) == 0
    backend.take_snapshot(uuid(backend, "web"), "gui", "by hand", Recorder())
    capsys.readouterr()
    assert run("snapshot", "list", "--json", "-f", str(cli)) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["hosted_json"], doc["kind"], doc["environment"]) == (1, "snapshots", "demo")
    web, db = doc["machines"]
    assert [(s["name"], s["hosted"], s["online"]) for s in web["snapshots"]] == [("gui", False, True)]
    (a,) = db["snapshots"]
    assert (a["name"], a["kind"], a["current"]) == ("a", "save", False)
    assert [(c["name"], c["kind"], c["current"]) for c in a["children"]] == [("push-1", "push", True)]


def test_cli_list_shows_the_tree(cli: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run("snapshot", "save", "a", "db", "-f", str(cli))
    run("snapshot", "save", "b", "db", "-f", str(cli))
    capsys.readouterr()
    assert run("snapshot", "list", "db", "-f", str(cli)) == 0
    out = capsys.readouterr().out
    assert "db (demo-db, poweroff)" in out
    b_line = next(line for line in out.splitlines() if " b " in line)
    a_line = next(line for line in out.splitlines() if " a " in line)
    assert "current" in b_line and "current" not in a_line
    assert b_line.index("b") > a_line.index("a")  # b is drawn under a


def test_cli_restore_without_terminal_or_yes_refuses(cli: Path, backend: MemoryBackend,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert run("snapshot", "save", "x", "-f", str(cli)) == 0
    before = len(backend.calls)
    assert run("snapshot", "restore", "x", "-f", str(cli)) == 1
    assert "nothing was changed" in capsys.readouterr().err
    assert mutating(backend, before) == []
    assert run("snapshot", "restore", "x", "--yes", "-f", str(cli)) == 0
    assert run("reset", "-f", str(cli)) == 1  # no baseline: says so
    assert "no 'baseline' snapshot" in capsys.readouterr().err


@pytest.mark.parametrize("operation", ["reset", "restore", "save", "delete"])
def test_machines_are_worked_on_at_the_same_time(backend: MemoryBackend, monkeypatch: pytest.MonkeyPatch,
                                                 operation: str) -> None:
    """Each machine's VirtualBox call waits until the other machine's has begun: a runner
    that did one machine after the other would break the barrier (10 s) and fail both."""
    for name in ("web", "db"):
        take_baseline(backend, uuid(backend, name))
    save(ENV, backend, "s1", [], Recorder())
    method = {"reset": "restore_snapshot", "restore": "restore_snapshot", "save": "take_snapshot",
              "delete": "delete_snapshot"}[operation]
    barrier = threading.Barrier(2, timeout=10)
    original = getattr(backend, method)

    def together(*args: Any, **kw: Any) -> Any:
        barrier.wait()
        return original(*args, **kw)

    monkeypatch.setattr(backend, method, together)
    results = {"reset": lambda: reset(ENV, backend, [], Recorder(), yes=True),
               "restore": lambda: restore(ENV, backend, "s1", [], Recorder(), yes=True),
               "save": lambda: save(ENV, backend, "s2", [], Recorder()),
               "delete": lambda: delete(ENV, backend, "s1", [], Recorder())}[operation]()
    assert [r.ok for r in results] == [True, True], [r.error for r in results]
    assert not barrier.broken
