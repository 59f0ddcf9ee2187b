"""hosted's extradata on the machines it owns."""

from __future__ import annotations

import json
from typing import Any

from hosted.model import Tags

ENVIRONMENT = "hosted/environment"
MACHINE = "hosted/machine"
SPEC_HASH = "hosted/spec-hash"
VERSION = "hosted/version"
MEDIA = "hosted/media"  # JSON list of the disk paths hosted created


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
