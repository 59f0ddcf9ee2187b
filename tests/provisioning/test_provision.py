"""Provisioning through the runner (``hosted up`` / ``hosted provision``) on the backend
double, whose NAT forward relays to a real sshd standing in for the guest: what runs
once, what runs every time, what a change reruns, and how failures are reported."""

from __future__ import annotations

import itertools
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from double import MemoryBackend
from factories import fwd, nat, spec
from ssh.sshd import Sshd, client_key_fixture, sshd_fixture  # noqa: F401

from hosted import api, paths
from hosted.errors import ProvisionError
from hosted.events import Recorder
from hosted.model import Environment, ProvisionStep, ReadySpec, SshSpec
from hosted.ports import PortAllocator
from hosted.provisioning import step_fingerprint

pytestmark = pytest.mark.sshd
_envs = itertools.count(1)
QUICK = ReadySpec(vm_running=5, guest_network=5, tcp=10, ssh=30)


@dataclass
class Rig:
    backend: MemoryBackend
    client_key: Path
    events: Recorder
    name: str  # the environment: its own per test, as each test's sshd has a host key of its own

    @property
    def uuid(self) -> str:
        return next(m.uuid for m in self.backend.list_machines() if m.tags is not None)

    @property
    def log(self) -> Path:
        return paths.machine_dir(self.name, "web") / "provision.log"

    def env(self, *steps: ProvisionStep) -> Environment:
        web = spec("web", vm_name=f"{self.name}-web", nics=(nat(fwd(22, None, "ssh")),), provision=steps,
                   ready=QUICK, ssh=SshSpec(user="root", private_key=str(self.client_key)))
        return Environment(name=self.name, path="/p/hosted.yaml", machines=(web,))

    def run(self, *steps: ProvisionStep, force: bool = False) -> list[str]:
        """``up`` (or ``provision`` with ``force``); the provisioning steps that ran."""
        e = self.env(*steps)
        result = api.provision(e, backend=self.backend, on_event=self.events) if force else \
            api.up(e, backend=self.backend, on_event=self.events)
        if not result.ok:
            raise result.failed[0].error  # type: ignore[misc]
        return [c.split()[1] for c in result.machines[0].changed if c.startswith("provision ")]


@pytest.fixture
def rig(sshd: Sshd, client_key: Path, tmp_path: Path) -> Iterator[Rig]:
    backend = MemoryBackend(root=tmp_path / "vms", ports=PortAllocator(tmp_path / "ports"),
                            guests={22: ("127.0.0.1", sshd.port)})
    yield Rig(backend, client_key, Recorder(), f"prov{next(_envs)}")
    backend.nat.close()


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
    assert "provision once: already ran, unchanged (run: once)" in rig.events.messages("step-noop")
    assert [e.machine for e in rig.events.events if e.kind == "output"] == ["web"]
    assert rig.events.messages("output") == ["ran once"]
    log = rig.log.read_text()
    assert "web step once (shell, run once)" in log and "ran once\n" in log
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
    assert e.message == "web: provisioning step 'bad' failed with exit status 7"
    assert e.output_tail.splitlines() == [f"line {i}" for i in range(22, 61)] + ["oops"]
    assert "  | oops" in e.hint and str(rig.log) in e.hint
    assert bad.name not in rig.backend.records(rig.uuid).provisioned
    assert "never" not in rig.events.messages("output")
    assert "=== exit status 7 after" in rig.log.read_text()


def test_invalid_steps_are_named(rig: Rig, tmp_path: Path) -> None:
    with pytest.raises(ProvisionError, match="web: shell step 'x' needs exactly one"):
        rig.run(shell("x"))
    with pytest.raises(ProvisionError, match=r"script .*/missing.sh not found"):
        rig.run(ProvisionStep(kind="shell", name="s", script=str(tmp_path / "missing.sh")))
    with pytest.raises(ProvisionError, match="needs source and destination"):
        rig.run(ProvisionStep(kind="file", name="f", source=str(tmp_path)))
