"""Every extradata key hosted writes on VirtualBox machines, and how each value is encoded.

This is the one place that names them: the rest of hosted sees typed values
(``Tags``, ``MachineRecords``), never a key.  Extradata lives in the machine's
settings, outside its snapshots, so a restore never rolls these back.
"""

from __future__ import annotations

import json
import os
from typing import Any

from hosted.backend.base import MachineRecords
from hosted.model import Tags

# hosted's tags on a machine it owns
ENVIRONMENT = "hosted/environment"
MACHINE = "hosted/machine"
SPEC_HASH = "hosted/spec-hash"
VERSION = "hosted/version"
MEDIA = "hosted/media"  # JSON list of the disk paths hosted created
DISKS = "hosted/disks"  # JSON {name: path} of the extra disks (``disks:``) hosted attached
EXTRADATA_KEYS = "hosted/extradata-keys"  # JSON list of the profile's `virtualbox.extradata` keys set

# records of what was done to the machine
PROVISIONED = "hosted/provisioned/"  # + step name: the fingerprint of the step's last successful run
UNATTENDED = "hosted/unattended"  # "pending", then the OS type id the install was prepared for
GUEST = "hosted/guest/"  # + "addresses" / "hosts": fingerprint of what was last set inside the guest

# templates (one per image) and their clones
TEMPLATE = "hosted/template"  # the image's sha256 digest
IMAGE_NAME = "hosted/image-name"
TEMPLATE_ID = "hosted/template-id"  # the template's own uuid: a copy (clone) of it is no template
TEMPLATE_OF = "hosted/template-of"  # on a clone: the template's uuid

# VirtualBox's own device settings hosted changes
# How long a NIC's link stays down after a saved state is loaded (default 5000 ms).  Over
# NAT nothing needs the pause (the guest's address does not change), and it is most of a
# restore's wait for SSH; per device and adapter slot: see link_up_delay_key.
LINK_UP_DELAY = "VBoxInternal/Devices/{device}/{slot}/Config/LinkUpDelay"
NIC_DEVICES = ("e1000", "pcnet", "virtio-net")


def link_up_delay_key(device: str, slot: int) -> str:
    return LINK_UP_DELAY.format(device=device, slot=slot)


def read_tags(machine: Any) -> Tags | None:
    environment = str(machine.getExtraData(ENVIRONMENT) or "")
    name = str(machine.getExtraData(MACHINE) or "")
    if not environment or not name:
        return None
    return Tags(
        environment=environment,
        machine=name,
        spec_hash=str(machine.getExtraData(SPEC_HASH) or ""),
        hosted_version=str(machine.getExtraData(VERSION) or ""),
    )


def write_tags(machine: Any, tags: Tags) -> None:
    machine.setExtraData(ENVIRONMENT, tags.environment)
    machine.setExtraData(MACHINE, tags.machine)
    machine.setExtraData(SPEC_HASH, tags.spec_hash)
    machine.setExtraData(VERSION, tags.hosted_version)


def read_media(machine: Any) -> list[str]:
    raw = str(machine.getExtraData(MEDIA) or "")
    try:
        value = json.loads(raw) if raw else []
    except ValueError:
        return []
    return [rebased(machine, str(p)) for p in value] if isinstance(value, list) else []


def rebased(machine: Any, path: str) -> str:
    """``path`` in the machine's folder as it is now: VirtualBox moves a machine's folder (and the
    disks in it) when its groups change, and the paths hosted recorded go stale."""
    if os.path.exists(path):
        return path
    folder = os.path.dirname(str(machine.settingsFilePath))
    marker = os.sep + os.path.basename(folder) + os.sep
    at = path.rfind(marker)
    moved = os.path.join(folder, path[at + len(marker):]) if at >= 0 else path
    return moved if os.path.exists(moved) else path


def write_media(machine: Any, paths: list[str]) -> None:
    machine.setExtraData(MEDIA, json.dumps(sorted(set(paths))) if paths else "")


def read_json(machine: Any, key: str, default: Any) -> Any:
    raw = str(machine.getExtraData(key) or "")
    try:
        value = json.loads(raw) if raw else default
    except ValueError:
        return default
    return value if isinstance(value, type(default)) else default


def write_json(machine: Any, key: str, value: Any) -> None:
    machine.setExtraData(key, json.dumps(value, sort_keys=True) if value else "")


def read_records(machine: Any, keys: list[str]) -> MachineRecords:
    """The records among the machine's extradata ``keys`` (one getExtraDataKeys call)."""
    provisioned: dict[str, str] = {}
    guest: dict[str, str] = {}
    for key in keys:
        for prefix, table in ((PROVISIONED, provisioned), (GUEST, guest)):
            if key.startswith(prefix):
                value = str(machine.getExtraData(key) or "")
                if value:
                    table[key[len(prefix):]] = value
    install = str(machine.getExtraData(UNATTENDED) or "") if UNATTENDED in keys else ""
    return MachineRecords(provisioned=provisioned, install=install, guest=guest)


# VirtualBox's global extradata (IVirtualBox, in VirtualBox.xml): which DHCP servers and NAT
# Networks hosted created.  Written before the object is created, so a crash in between
# leaves a mark a rerun completes, never an object hosted would not know as its own.
NETWORK_OWNED = "hosted/network/"  # + "dhcp/NETWORK" or "natnetwork/NAME": "1"


def network_mark(kind: str, name: str) -> str:
    return f"{NETWORK_OWNED}{kind}/{name}"


def network_owned(vbox: Any, kind: str, name: str) -> bool:
    return str(vbox.getExtraData(network_mark(kind, name)) or "") == "1"


def mark_network(vbox: Any, kind: str, name: str, owned: bool) -> None:
    vbox.setExtraData(network_mark(kind, name), "1" if owned else "")


# Global marks of the shareable disks hosted created, written before the disk: a crash in
# between leaves a mark, never a disk hosted would not know as its own.
SHARED_DISK = "hosted/disk/"  # + "ENV/NAME": the disk's path


def shared_disk_mark(environment: str, name: str) -> str:
    return f"{SHARED_DISK}{environment}/{name}"
