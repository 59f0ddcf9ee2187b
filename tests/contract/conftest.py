"""Fixtures of the backend contract: ``backend`` (memory | virtualbox), its harness, and ``ctx``.

Every test tags its machines with its own environment name (``contract-<hex>``)
and teardown destroys every machine of that environment, then checks none is
left: a leak fails the test that caused it.
"""

from __future__ import annotations

import random
import uuid as uuidlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from double import MemoryBackend

from contract.harness import Harness, MemoryHarness
from contract.iso import write_iso
from hosted.backend.base import Backend
from hosted.events import Recorder, discard
from hosted.model import Forward, MachineSpec, Nic, ObservedMachine, Tags

BACKENDS = [
    pytest.param("memory", id="memory"),
    pytest.param("virtualbox", id="virtualbox", marks=pytest.mark.vbox),
]
EXPLICIT_PORTS = (3300, 3999)  # outside PortAllocator's default range: auto never picks these


def connect_virtualbox() -> Backend:
    try:
        from vbox_fixtures import make_virtualbox_backend  # shared with the backend's own tests
    except ImportError:
        try:
            from hosted.backend.virtualbox import connect
        except ImportError as exc:
            pytest.skip(f"the VirtualBox backend is not importable yet: {exc}")
        return connect(discard)  # type: ignore[no-any-return]
    return make_virtualbox_backend()  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def _virtualbox() -> Iterator[dict[str, Any]]:
    """One connection (and one harness) per session, made on first use."""
    state: dict[str, Any] = {}
    yield state
    if "backend" in state:
        state["backend"].close()


@pytest.fixture(params=BACKENDS)
def backend_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def backend_and_harness(
    backend_kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> tuple[Backend, Harness]:
    if backend_kind == "memory":
        mem = MemoryBackend(root=tmp_path / "vms")
        return mem, MemoryHarness(mem)
    state = request.getfixturevalue("_virtualbox")
    if "backend" not in state:
        state["backend"] = connect_virtualbox()
        from contract.vbox_harness import VBoxHarness

        state["harness"] = VBoxHarness(state["backend"]._ctx.mgr)
    return state["backend"], state["harness"]


@pytest.fixture
def backend(backend_and_harness: tuple[Backend, Harness]) -> Backend:
    return backend_and_harness[0]


@pytest.fixture
def harness(backend_and_harness: tuple[Backend, Harness]) -> Harness:
    return backend_and_harness[1]


@dataclass
class Ctx:
    kind: str
    backend: Backend
    harness: Harness
    env: str
    files: Path
    emit: Recorder = field(default_factory=Recorder)

    def vm_name(self, machine: str) -> str:
        return f"{self.env}-{machine}"

    def spec(self, machine: str = "m1", **changes: Any) -> MachineSpec:
        """A tiny machine: every config key declared except shared folders and dvd."""
        base = MachineSpec(
            name=machine, vm_name=self.vm_name(machine), state="poweroff", os_type="Linux_64", cpus=1,
            memory_mb=32, disk_mb=8, firmware="bios",
            nics=(Nic("nat", forwards=(Forward("ssh", 22, None),)),),
        )
        return replace(base, **changes)

    def tags(self, spec: MachineSpec, **changes: str) -> Tags:
        return replace(Tags(self.env, spec.name, spec.config_hash(), "0.1.0"), **changes)

    def create(self, spec: MachineSpec) -> ObservedMachine:
        return self.backend.create_machine(spec, self.tags(spec), self.emit)

    def configure(self, uuid: str, spec: MachineSpec, keys: Sequence[str]) -> ObservedMachine:
        return self.backend.configure(uuid, spec, keys, self.tags(spec), self.emit)

    def observe(self, uuid: str) -> ObservedMachine:
        m = self.backend.get_machine(uuid)
        assert m is not None, f"machine {uuid} vanished"
        return m

    def iso(self, name: str = "boot") -> str:
        return str(write_iso(self.files / f"{name}.iso", label=name))

    def share(self, name: str) -> str:
        path = self.files / "shares" / name
        path.mkdir(parents=True, exist_ok=True)
        (path / "keep.txt").write_text("the user's file\n")
        return str(path)

    def explicit_port(self) -> int:
        return random.randint(*EXPLICIT_PORTS)


@pytest.fixture
def ctx(backend_kind: str, backend: Backend, harness: Harness, tmp_path: Path) -> Iterator[Ctx]:
    files = tmp_path / "files"
    files.mkdir()
    c = Ctx(backend_kind, backend, harness, f"contract-{uuidlib.uuid4().hex[:8]}", files)
    yield c
    harness.cleanup()
    problems = []
    for m in backend.list_machines():
        if m.tags is not None and m.tags.environment == c.env:
            try:
                backend.destroy(m.uuid, discard)
            except Exception as exc:  # report every leak, not just the first
                problems.append(f"{m.vm_name}: {exc!r}")
    left = [m.vm_name for m in backend.list_machines() if m.vm_name.startswith(c.env)]
    nets = backend.list_networks()
    for kind, name, owned in [*(("dhcp", d.network, d.owned) for d in nets.dhcp),
                              *(("natnetwork", n.name, n.owned) for n in nets.natnetworks)]:
        if name.startswith(c.env) and owned:
            try:
                backend.remove_network(kind, name, discard)  # type: ignore[arg-type]
            except Exception as exc:
                problems.append(f"{kind} {name}: {exc!r}")
    nets = backend.list_networks()
    left += [d.network for d in nets.dhcp if d.network.startswith(c.env)]
    left += [n.name for n in nets.natnetworks if n.name.startswith(c.env)]
    assert not problems and not left, f"teardown: {problems} left {left}"
