"""Comparing what a spec declared with what a backend observed."""

from __future__ import annotations

import os
from typing import Any

from hosted.model import MachineSpec, ObservedMachine, Tags

# The observable state a configure may or may not touch.
FIELDS = ("uuid", "vm_name", "power", "os_type", "cpus", "memory_mb", "disk_mb", "firmware", "nics",
          "shared_folders", "dvd", "tags", "settings_file")


def snapshot_of(m: ObservedMachine) -> dict[str, Any]:
    out = {f: getattr(m, f) for f in FIELDS}
    out["dvd"] = _real(m.dvd)
    out["shared_folders"] = sorted(m.shared_folders, key=lambda f: f.name)
    return out


def _real(path: str | None) -> str | None:
    return None if path is None else os.path.realpath(path)


def assert_satisfies(spec: MachineSpec, m: ObservedMachine, tags: Tags | None = None) -> None:
    """Every key the spec declares is what the machine has."""
    for key in ("os_type", "cpus", "memory_mb", "disk_mb", "firmware"):
        want = getattr(spec, key)
        if want is not None:
            assert getattr(m, key) == want, f"{key}: want {want!r}, have {getattr(m, key)!r}"
    if spec.dvd is not None:
        assert _real(m.dvd) == _real(spec.dvd)
    if spec.shared_folders is not None:
        assert sorted(m.shared_folders, key=lambda f: f.name) == sorted(
            spec.shared_folders, key=lambda f: f.name)
    if spec.nics is not None:
        assert len(m.nics) == len(spec.nics), f"nics: want {spec.nics}, have {m.nics}"
        for slot, (want, have) in enumerate(zip(spec.nics, m.nics, strict=True)):
            assert want.same_attachment(have), f"adapter {slot + 1}: want {want}, have {have}"
            got = {f.name: f for f in have.forwards}
            assert sorted(got) == sorted(f.name for f in want.forwards), f"adapter {slot + 1} forwards"
            for fw in want.forwards:
                assert fw.matches(got[fw.name]), f"forward {fw} observed as {got[fw.name]}"
                assert got[fw.name].host is not None
    if tags is not None:
        assert m.tags == tags


def auto_ports(m: ObservedMachine) -> dict[str, int | None]:
    return {f.name: f.host for f in m.forwards()}
