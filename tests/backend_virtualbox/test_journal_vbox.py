"""What a run killed in the middle of a create, clone or import leaves is found through the
journal and removed by the next run's ``recover``: a machine VirtualBox registered that
hosted never tagged, a disk in the media registry that nothing uses, the folder.  A
finished machine of hosted's in a journaled folder, and anything of a live run, stay.
Checked against VBoxManage, on real VirtualBox."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest
from vbox_fixtures import VBOXMANAGE

from backend_virtualbox.conftest import Maker, vboxmanage
from hosted.backend.virtualbox import journal

pytestmark = pytest.mark.vbox


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid  # reaped: no process has this id now


def interrupted(folder: Path, name: str, pid: int) -> Path:
    """The journal entry a killed run leaves for ``folder``."""
    entry = journal._entry(str(folder))
    entry.write_text(json.dumps({"kind": "clone", "folder": str(folder), "name": name, "pid": pid,
                                 "started": time.time()}))
    return entry


def leftovers(maker: Maker, name: str) -> tuple[str, Path, Path]:
    """An untagged machine registered in its folder, and a registered disk no machine uses."""
    base = Path(os.environ["VBOX_USER_HOME"]) / "machines"
    vboxmanage("createvm", "--name", name, "--register", "--basefolder", str(base))
    folder = base / name
    disk = folder / "orphan.vdi"
    vboxmanage("createmedium", "disk", "--filename", str(disk), "--size", "4", "--format", "VDI")
    return name, folder, disk


def registered_names() -> set[str]:
    out = subprocess.run([VBOXMANAGE, "list", "vms"], capture_output=True, text=True).stdout
    return {line.split('"')[1] for line in out.splitlines() if '"' in line}


def known_disks() -> str:
    return subprocess.run([VBOXMANAGE, "list", "hdds"], capture_output=True, text=True).stdout


def test_recover_removes_what_a_killed_run_left(maker: Maker) -> None:
    name, folder, disk = leftovers(maker, maker.name("killed"))
    entry = interrupted(folder, name, dead_pid())
    removed = maker.backend.recover(maker.emit)
    assert f"machine {name}" in removed and f"disk {disk}" in removed and f"folder {folder}" in removed
    assert name not in registered_names() and str(disk) not in known_disks()
    assert not folder.exists() and not entry.exists()
    assert any("interrupted clone" in w for w in maker.emit.messages("warning"))


def test_a_live_runs_entry_and_a_finished_machine_are_left_alone(maker: Maker) -> None:
    name, folder, disk = leftovers(maker, maker.name("busy"))
    maker.made.append(name)
    entry = interrupted(folder, name, os.getpid())  # this process: alive
    assert maker.backend.recover(maker.emit) == []
    assert name in registered_names() and folder.exists() and entry.exists()
    entry.unlink()
    vboxmanage("closemedium", "disk", str(disk), "--delete")

    tagged = maker.create(maker.spec("done"))
    done_folder = Path(tagged.settings_file).parent
    entry = interrupted(done_folder, tagged.vm_name, dead_pid())
    assert maker.backend.recover(maker.emit) == []  # hosted's own machine: the plan sees it
    assert tagged.vm_name in registered_names() and done_folder.exists() and not entry.exists()
