"""Provisioners over a real SSH session (sshd on loopback), with the in-memory
backend double keeping the ``run: once`` records."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from double import MemoryBackend
from factories import spec
from ssh.sshd import Sshd, client_key_fixture, sshd_fixture  # noqa: F401

from hosted.errors import ProvisionError
from hosted.events import Recorder, discard
from hosted.model import ProvisionStep, Tags
from hosted.provision import provision, step_fingerprint
from hosted.ssh import SshSession, connect

pytestmark = pytest.mark.sshd


@dataclass
class Rig:
    session: SshSession
    backend: MemoryBackend
    uuid: str
    log: Path
    events: Recorder

    def run(self, *steps: ProvisionStep, force: bool = False) -> list[str]:
        return provision(self.session, self.backend, self.uuid, "env/web", steps, self.events,
                         self.log, force=force)


@pytest.fixture
def rig(sshd: Sshd, client_key: Path, tmp_path: Path) -> Iterator[Rig]:
    backend = MemoryBackend(root=tmp_path / "vms")
    uuid = backend.create_machine(spec("web"), Tags("env", "web"), discard).uuid
    with connect(sshd.target(client_key, tmp_path / "kh"), timeout=10) as session:
        yield Rig(session, backend, uuid, tmp_path / "data" / "provision.log", Recorder())


def shell(name: str, inline: str | None = None, **kw: object) -> ProvisionStep:
    return ProvisionStep(kind="shell", name=name, inline=inline, **kw)  # type: ignore[arg-type]


def test_once_runs_once_and_always_every_time(rig: Rig, tmp_path: Path) -> None:
    counter = tmp_path / "counter"
    once = shell("once", f"echo x >> {counter}; echo ran once")
    always = shell("always", f"echo y >> {counter}", run="always")
    assert rig.run(once, always) == ["once", "always"]
    assert rig.run(once, always) == ["always"]
    assert counter.read_text() == "x\ny\ny\n"
    assert rig.backend.records(rig.uuid).provisioned.get(once.name) == step_fingerprint(once)
    assert always.name not in rig.backend.records(rig.uuid).provisioned
    assert "provision once: skipped (ran before, unchanged)" in rig.events.messages("info")
    assert [e.machine for e in rig.events.events if e.kind == "output"] == ["env/web"]
    assert rig.events.messages("output") == ["ran once"]
    log = rig.log.read_text()
    assert "env/web step once (shell, run once)" in log and "ran once\n" in log
    assert log.count("=== exit status 0") == 3
    assert rig.run(once, always, force=True) == ["once", "always"]


def test_changed_step_runs_again(rig: Rig, tmp_path: Path) -> None:
    script = tmp_path / "setup.sh"
    script.write_text("#!/bin/sh\necho v1\n")
    step = ProvisionStep(kind="shell", name="setup", script=str(script))
    assert rig.run(step) == ["setup"] and rig.run(step) == []
    script.write_text("#!/bin/sh\necho v2\n")
    assert rig.run(step) == ["setup"]
    assert rig.run(shell("setup", "echo inline now")) == ["setup"]
    assert rig.events.messages("output") == ["v1", "v2", "inline now"]


def test_script_gets_env_and_its_interpreter_and_is_removed(rig: Rig, tmp_path: Path) -> None:
    script = tmp_path / "py-script"
    script.write_text("#!/usr/bin/env python3\nimport os, sys\nprint(os.environ['ROLE'], sys.argv[0])\n")
    step = ProvisionStep(kind="shell", name="py", script=str(script), env=(("ROLE", "db server"),),
                         privileged=True)
    rig.run(step)
    [line] = rig.events.messages("output")
    role, remote = line.rsplit(" ", 1)
    assert role == "db server" and remote.startswith("/tmp/hosted-py-")
    assert not Path(remote).exists()


def test_file_steps_copy_files_and_directories(rig: Rig, tmp_path: Path) -> None:
    src = tmp_path / "conf"
    (src / "d").mkdir(parents=True)
    (src / "d" / "tool").write_text("#!/bin/sh\n")
    (src / "d" / "tool").chmod(0o755)
    (src / "app.conf").write_text("port=80\n")
    dest = tmp_path / "guest"
    steps = [ProvisionStep(kind="file", name="dir", source=str(src), destination=f"{dest}/etc"),
             ProvisionStep(kind="file", name="one", source=str(src / "app.conf"),
                           destination=f"{dest}/single.conf")]
    assert rig.run(*steps) == ["dir", "one"]
    assert (dest / "etc" / "app.conf").read_text() == "port=80\n"
    assert stat.S_IMODE((dest / "etc" / "d" / "tool").stat().st_mode) == 0o755
    assert (dest / "single.conf").read_text() == "port=80\n"
    (src / "app.conf").write_text("port=81\n")  # content changed: both run again
    assert rig.run(*steps) == ["dir", "one"]


def test_failing_step_raises_with_tail_and_stops(rig: Rig) -> None:
    bad = shell("bad", "for i in $(seq 1 60); do echo line $i; done; echo oops >&2; exit 7")
    after = shell("after", "echo never")
    with pytest.raises(ProvisionError) as err:
        rig.run(bad, after)
    e = err.value
    assert (e.step, e.exit_status) == ("bad", 7)
    assert e.message == "env/web: provisioning step 'bad' failed with exit status 7"
    assert e.output_tail.splitlines() == [f"line {i}" for i in range(22, 61)] + ["oops"]
    assert "  | oops" in e.hint and str(rig.log) in e.hint
    assert bad.name not in rig.backend.records(rig.uuid).provisioned
    assert "never" not in rig.events.messages("output")
    assert "=== exit status 7 after" in rig.log.read_text()


def test_invalid_steps_are_named(rig: Rig, tmp_path: Path) -> None:
    with pytest.raises(ProvisionError, match="env/web: shell step 'x' needs exactly one"):
        rig.run(shell("x"))
    with pytest.raises(ProvisionError, match=r"script .*/missing.sh not found"):
        rig.run(ProvisionStep(kind="shell", name="s", script=str(tmp_path / "missing.sh")))
    with pytest.raises(ProvisionError, match="needs source and destination"):
        rig.run(ProvisionStep(kind="file", name="f", source=str(tmp_path)))
