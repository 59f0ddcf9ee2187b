"""`hosted up` on a lab profile against real VirtualBox, read back independently with
`VBoxManage showvminfo --machinereadable`, `getextradata` and `showmediuminfo`: `count` makes
the machines, each `virtualbox:` key is set, a shareable disk is one disk on two machines and
goes only with the last of them."""

from __future__ import annotations

import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from vbox_fixtures import VBOXMANAGE, make_virtualbox_backend, vboxmanage_info

from hosted.cli.main import main

pytestmark = pytest.mark.vbox

PROFILE = """
version: 1
name: {name}
defaults:
  state: poweroff
  memory: 64
  nics: [{{nat: {{forwards: [{{name: ssh, guest: 22}}]}}}}]
  virtualbox:
    groups: [/{name}]
    vram: 16
    graphics: vmsvga
    audio: false
    nested_virtualization: true
    clipboard: bidirectional
    extradata: {{GUI/ScaleFactor: "2"}}
machines:
  node:
    count: 2
    hostname: node-${{index}}
    disks:
      - {{name: quorum, size: 16M, shareable: true}}
      - {{name: data, size: 8M, nonrotational: true}}
"""


def vboxmanage(*args: str) -> str:
    return subprocess.run([VBOXMANAGE, *args], capture_output=True, text=True, check=True, timeout=60).stdout


def medium(path: str) -> dict[str, str]:
    """`VBoxManage showmediuminfo`: "Key:   value" lines."""
    info: dict[str, str] = {}
    for line in vboxmanage("showmediuminfo", "disk", path).splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() not in info:
            info[key.strip()] = value.strip()
    return info


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Path]:
    make_virtualbox_backend()
    name = f"labs{tmp_path.name[-6:].replace('_', '')}".lower()
    profile = tmp_path / "hosted.yaml"
    profile.write_text(textwrap.dedent(PROFILE.format(name=name)))
    yield profile
    main(["destroy", "-f", str(profile), "--yes"])


def test_count_settings_and_a_shared_disk_as_virtualbox_has_them(lab: Path) -> None:
    name = lab.read_text(encoding="utf-8").split("name: ", 1)[1].split("\n", 1)[0]
    assert main(["up", "-f", str(lab), "--yes"]) == 0
    vms = vboxmanage("list", "vms")
    assert f'"{name}-node-1"' in vms and f'"{name}-node-2"' in vms and f'"{name}-node"' not in vms
    disks = []
    for vm in (f"{name}-node-1", f"{name}-node-2"):
        info = vboxmanage_info(vm)
        assert info["groups"] == f"/{name}"
        assert info["vram"] == "16"
        assert info["graphicscontroller"] == "vmsvga"
        assert info["audio"] == "none" or info.get("audio_enabled") == "off", info.get("audio")
        assert info["nested-hw-virt"] == "on"
        assert info["clipboard"] == "bidirectional"
        assert vboxmanage("getextradata", vm, "GUI/ScaleFactor").strip() == "Value: 2"
        attached = {k: v for k, v in info.items() if k.startswith("SATA-") and v.endswith(".vdi")}
        disks.append(attached)
        ssd = [k for k, v in attached.items() if v.endswith(f"{vm}-data.vdi")]
        assert ssd and info.get(ssd[0].replace("SATA-", "SATA-nonrotational-")) == "on", info
    shared = {v for d in disks for v in d.values() if v.endswith("quorum.vdi")}
    assert len(shared) == 1, disks
    quorum = medium(shared.pop())
    assert quorum["Type"].startswith("shareable") and "fixed" in quorum["Format variant"].lower()
    quorum_path = next(v for d in disks for v in d.values() if v.endswith("quorum.vdi"))
    users = vboxmanage("showmediuminfo", "disk", quorum_path).split("In use by VMs:", 1)[1]
    assert f"{name}-node-1 (UUID" in users and f"{name}-node-2 (UUID" in users

    path = next(v for d in disks for v in d.values() if v.endswith("quorum.vdi"))
    assert main(["destroy", "-f", str(lab), "--yes", "node-1"]) == 0
    assert Path(path).exists(), "node-2 still has the shareable disk"
    left = medium(path)["In use by VMs"]
    assert f"{name}-node-2" in left and f"{name}-node-1" not in left
    assert main(["destroy", "-f", str(lab), "--yes"]) == 0
    assert not Path(path).exists(), "the last machine took the shareable disk with it"
