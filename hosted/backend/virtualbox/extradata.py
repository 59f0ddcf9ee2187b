"""Every extradata key hosted writes on VirtualBox machines, and how each value is encoded.

This is the one place that names them: the rest of hosted sees typed values
(``Tags``, ``MachineRecords``), never a key.  Extradata lives in the machine's
settings, outside its snapshots, so a restore never rolls these back.
"""

from __future__ import annotations

import json
from typing import Any

from hosted.backend.base import MachineRecords
from hosted.model import Tags

# hosted's tags on a machine it owns
ENVIRONMENT = "hosted/environment"
MACHINE = "hosted/machine"
SPEC_HASH = "hosted/spec-hash"
VERSION = "hosted/version"
MEDIA = "hosted/media"  # JSON list of the disk paths hosted created

# records of what was done to the machine
PROVISIONED = "hosted/provisioned/"  # + step name: the fingerprint of the step's last successful run
UNATTENDED = "hosted/unattended"  # "pending", then the OS type id the install was prepared for

# templates (one per image) and their clones
TEMPLATE = "hosted/template"  # the image's sha256 digest
IMAGE_NAME = "hosted/image-name"
TEMPLATE_ID = "hosted/template-id"  # the template's own uuid: a copy (clone) of it is no template
TEMPLATE_OF = "hosted/template-of"  # on a clone: the template's uuid


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
    return [str(p) for p in value] if isinstance(value, list) else []


def write_media(machine: Any, paths: list[str]) -> None:
    machine.setExtraData(MEDIA, json.dumps(sorted(set(paths))) if paths else "")


def read_records(machine: Any, keys: list[str]) -> MachineRecords:
    """The records among the machine's extradata ``keys`` (one getExtraDataKeys call)."""
    provisioned = {}
    for key in keys:
        if key.startswith(PROVISIONED):
            value = str(machine.getExtraData(key) or "")
            if value:
                provisioned[key[len(PROVISIONED):]] = value
    install = str(machine.getExtraData(UNATTENDED) or "") if UNATTENDED in keys else ""
    return MachineRecords(provisioned=provisioned, install=install)
