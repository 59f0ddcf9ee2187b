"""Fixtures for the VirtualBox backend's own tests (real VirtualBox, private VBoxSVC)."""

from __future__ import annotations

import itertools
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from vbox_fixtures import VBOXMANAGE, tags_for, virtualbox_backend

from hosted.events import Recorder
from hosted.model import Forward, MachineSpec, Nic, ObservedMachine

__all__ = ["virtualbox_backend"]
_counter = itertools.count(1)


class Maker:
    """Creates machines with unique names and destroys them after the test."""

    def __init__(self, backend: Any, files: Path) -> None:
        self.backend = backend
        self.files = files
        self.emit = Recorder()
        self.made: list[str] = []

    def name(self, stem: str = "m") -> str:
        return f"t{os.getpid()}-{stem}-{next(_counter)}"

    def spec(self, stem: str = "m", **fields: Any) -> MachineSpec:
        name = self.name(stem)
        base: dict[str, Any] = {"name": stem, "vm_name": name, "memory_mb": 32, "cpus": 1}
        base.update(fields)
        return MachineSpec(**base)

    def create(self, spec: MachineSpec) -> ObservedMachine:
        m: ObservedMachine = self.backend.create_machine(spec, tags_for(spec), self.emit)
        self.made.append(m.uuid)
        return m

    def untagged(self, stem: str = "user") -> str:
        """A machine made outside hosted (VBoxManage), as a user would."""
        name = self.name(stem)
        folder = Path(os.environ["VBOX_USER_HOME"]) / "machines"
        vboxmanage("createvm", "--name", name, "--ostype", "Linux_64", "--register",
                   "--basefolder", str(folder))
        vboxmanage("modifyvm", name, "--memory", "32")
        self.made.append(name)
        return name

    def cleanup(self) -> None:
        for ref in self.made:
            m = self.backend.get_machine(ref)
            if m is None:
                continue
            try:
                if m.owned:
                    self.backend.destroy(m.uuid, self.emit)
                else:
                    vboxmanage("unregistervm", ref, "--delete")
            except Exception:  # the session fixture removes what is left
                pass


def vboxmanage(*args: str) -> str:
    return subprocess.run([VBOXMANAGE, *args], capture_output=True, text=True, check=True,
                          timeout=120).stdout


def extradata(vm: str, key: str) -> str:
    """A machine's extradata as VBoxManage reads it ("" when not set): an independent check."""
    out = vboxmanage("getextradata", vm, key).strip()
    return out.removeprefix("Value: ") if out.startswith("Value: ") else ""


@pytest.fixture
def maker(virtualbox_backend: Any, tmp_path: Path) -> Iterator[Maker]:
    m = Maker(virtualbox_backend, tmp_path)
    yield m
    m.cleanup()


@pytest.fixture
def iso(tmp_path: Path) -> str:
    """A valid (empty) ISO 9660 image: VirtualBox probes DVD images when opening them."""
    from contract.iso import write_iso

    return str(write_iso(tmp_path / "boot.iso"))


def nat(*forwards: Forward, adapter_type: str | None = None) -> Nic:
    return Nic("nat", forwards=tuple(forwards), adapter_type=adapter_type)
