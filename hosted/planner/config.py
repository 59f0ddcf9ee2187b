"""Comparing a machine's declared configuration with what VirtualBox has.

Only keys the profile declares are compared; values VirtualBox assigns (UUIDs,
MAC addresses, defaults the profile does not mention) never produce steps.  A
``host: auto`` forward is satisfied by whatever port it already has.  Every
difference of one machine goes into one Configure step (one lock, one save);
each key that already matches is a no-op that says so.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hosted import render
from hosted.backend.base import RUNTIME_KEYS
from hosted.model import Disk, MachineSpec, Nic, ObservedMachine, VirtualBoxSettings
from hosted.steps import Change, Configure, Noop, Step, key_label

# Keys whose change needs the machine powered off: all but the backend's runtime keys.
POWEROFF_KEYS = frozenset([*MachineSpec.CONFIG_KEYS, *(f"virtualbox.{k}" for k in VirtualBoxSettings.KEYS)]) \
    - RUNTIME_KEYS

Comparer = Callable[[MachineSpec, ObservedMachine], "tuple[bool, str, str] | None"]


def what(spec: MachineSpec) -> str:
    """The declared configuration in a few words, for create and clone steps."""
    parts = [spec.os_type] if spec.os_type else []
    if spec.cpus:
        parts.append(f"{spec.cpus} CPU" + ("s" if spec.cpus > 1 else ""))
    if spec.memory_mb:
        parts.append(render.mb(spec.memory_mb))
    if spec.disk_mb:
        parts.append(f"{render.mb(spec.disk_mb)} disk")
    if spec.nics is not None:
        parts.append(render.nics(spec.nics))
    return ", ".join(parts)


def _scalar(key: str, fmt: Callable[[Any], str]) -> Comparer:
    def compare(spec: MachineSpec, cur: ObservedMachine) -> tuple[bool, str, str] | None:
        want = getattr(spec, key)
        if want is None:
            return None
        have = getattr(cur, key)
        return want == have, fmt(have), fmt(want)

    return compare


def _nics_attachments(spec: MachineSpec, cur: ObservedMachine) -> tuple[bool, str, str] | None:
    if spec.nics is None:
        return None
    same = len(spec.nics) == len(cur.nics) and all(
        w.same_attachment(h) for w, h in zip(spec.nics, cur.nics, strict=True)
    )
    return same, render.nics(cur.nics), render.nics(spec.nics)


def _forwards(spec: MachineSpec, cur: ObservedMachine) -> tuple[bool, str, str] | None:
    if spec.nics is None:
        return None
    same = all(_forwards_match(w, h) for w, h in zip(spec.nics, cur.nics, strict=False))
    return same, render.forwards(cur.forwards()), render.forwards(spec.forwards())


def _forwards_match(want: Nic, have: Nic) -> bool:
    if len(want.forwards) != len(have.forwards):
        return False
    by_name = {f.name: f for f in have.forwards}
    return all(f.name in by_name and f.matches(by_name[f.name]) for f in want.forwards)


def _shared_folders(spec: MachineSpec, cur: ObservedMachine) -> tuple[bool, str, str] | None:
    if spec.shared_folders is None:
        return None

    def key(s: Any) -> tuple[str, str, str, bool]:
        return (s.name, s.host, s.guest, s.readonly)

    same = sorted(map(key, spec.shared_folders)) == sorted(map(key, cur.shared_folders))
    return same, render.shared_folders(cur.shared_folders), render.shared_folders(spec.shared_folders)


def _disks(spec: MachineSpec, cur: ObservedMachine) -> tuple[bool, str, str] | None:
    """Declared disks by name; a port left out is any port.  Disks the profile no longer declares
    stay attached (hosted never drops a disk): they are not compared."""
    if spec.disks is None:
        return None
    have = {d.name: d for d in cur.disks}

    def same(want: Disk) -> bool:
        got = have.get(want.name)
        return got is not None and (want.port is None or want.port == got.port) and \
            (want.size_mb, want.fixed, want.nonrotational, want.shareable) == \
            (got.size_mb, got.fixed, got.nonrotational, got.shareable)

    shown = tuple(have[d.name] for d in spec.disks if d.name in have)
    return all(same(d) for d in spec.disks), render.disks(shown), render.disks(spec.disks)


def _setting(key: str) -> Comparer:
    def compare(spec: MachineSpec, cur: ObservedMachine) -> tuple[bool, str, str] | None:
        want = getattr(spec.virtualbox, key)
        if want is None:
            return None
        if not cur.settings_read:  # not read is not "as VirtualBox's defaults": a bug, not drift
            raise ValueError(f"{cur.vm_name}: read without its virtualbox settings, compared on {key}")
        have = getattr(cur.virtualbox, key)
        if key == "nat_dns_host_resolver" and not any(n.kind == "nat" for n in cur.nics):
            return None  # no NAT adapter to set it on
        if key == "groups":
            want, have = tuple(want) or ("/",), tuple(have or ()) or ("/",)
        return want == have, render.setting(have), render.setting(want)

    return compare


COMPARERS: tuple[tuple[str, Comparer], ...] = (
    ("os_type", _scalar("os_type", str)),
    ("cpus", _scalar("cpus", str)),
    ("memory_mb", _scalar("memory_mb", render.mb)),
    ("firmware", _scalar("firmware", str)),
    ("nics", _nics_attachments),
    ("forwards", _forwards),
    ("shared_folders", _shared_folders),
    ("dvd", _scalar("dvd", lambda v: v or "none")),
    ("disks", _disks),
    *((f"virtualbox.{k}", _setting(k)) for k in VirtualBoxSettings.KEYS),
)


def config_steps(spec: MachineSpec, cur: ObservedMachine, warnings: list[str]) -> list[Step]:
    """No-ops for the keys that match, then one Configure with every change (if any)."""
    noops: list[Step] = []
    changes: list[Change] = []
    for key, compare in COMPARERS:
        result = compare(spec, cur)
        if result is None:
            continue
        same, have, want = result
        if key == "forwards" and any(c.key == "nics" for c in changes):
            continue  # rewriting the adapters rewrites their forwards too
        if same:
            noops.append(Noop(machine=spec.name, subject=key, reason=f"{key_label(key)} already {want}"))
        else:
            changes.append(Change(key, have, want, needs_poweroff=key in POWEROFF_KEYS))
            if key == "disks":
                warnings += _disk_warnings(spec, cur)
    disk = _disk_change(spec, cur, warnings)
    if isinstance(disk, Change):
        changes.append(disk)
    elif disk is not None:
        noops.append(disk)
    return [*noops, *([Configure(machine=spec.name, changes=tuple(changes))] if changes else [])]


def _disk_change(spec: MachineSpec, cur: ObservedMachine, warnings: list[str]) -> Change | Step | None:
    if spec.disk_mb is None:
        return None
    if cur.disk_mb is None:
        warnings.append(f"{spec.name}: has no disk made by hosted; `disk` is only used when creating")
        return None
    if spec.disk_mb == cur.disk_mb:
        return Noop(machine=spec.name, subject="disk_mb", reason=f"disk already {render.mb(spec.disk_mb)}")
    if spec.disk_mb < cur.disk_mb:
        warnings.append(f"{spec.name}: disk is {render.mb(cur.disk_mb)}; hosted never shrinks a disk")
        return None
    return Change("disk_mb", render.mb(cur.disk_mb), render.mb(spec.disk_mb), needs_poweroff=True)


def _disk_warnings(spec: MachineSpec, cur: ObservedMachine) -> list[str]:
    have = {d.name: d for d in cur.disks}
    out = []
    for want in spec.disks or ():
        got = have.get(want.name)
        if got is not None and (got.fixed or want.size_mb < got.size_mb) and want.size_mb != got.size_mb:
            out.append(f"{spec.name}: disk {want.name} is {render.mb(got.size_mb)}; hosted never shrinks a "
                       "disk nor resizes a fixed one")
    return out
