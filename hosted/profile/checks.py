"""Checks across keys and machines, after each value is valid on its own.

VirtualBox names must be unique, rule / share / step names unique within their
machine, and no two forwards of the profile may claim the same host port.
Images: a URL source needs its sha256, and a machine's ``image`` must name one.
A machine installed from an installer ISO needs a ``disk`` and no ``dvd``;
``install`` only goes with such an image.  At most one machine is ``primary``.
Each check yields every problem it finds, so that one run reports them all.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from hosted.errors import ProfileError
from hosted.model import ANY_ADDRESSES, is_url
from hosted.profile import build, schema
from hosted.profile.netchecks import check_networks
from hosted.profile.source import Document, KeyPath, format_path

T = TypeVar("T")


def check(doc: Document, env_name: str, machines: list[build.Merged],
          images: Mapping[str, schema.Image] | None = None) -> list[ProfileError]:
    """Every problem across keys and machines (none: the profile is valid)."""
    images = images or {}
    problems = [*_image_checksums(doc, images), *_unique_vm_names(doc, env_name, machines)]
    for merged in machines:
        problems += _unique_within(doc, merged)
        problems += _image_reference(doc, merged, images)
        if merged.get("image") is None or merged.get("image") in images:  # else already reported
            problems += _installer(doc, merged, images)
    problems += _host_ports(doc, machines)
    problems += check_networks(doc, machines)
    problems += _one_primary(doc, machines)
    return problems


def _one_primary(doc: Document, machines: list[build.Merged]) -> Iterator[ProfileError]:
    marked = [m.name for m in machines if getattr(m.own, "primary", None)]
    for name in marked[1:]:
        yield doc.error(("machines", name, "primary"), f"machines {marked[0]!r} and {name!r} are both "
                        "marked primary", "Mark at most one machine `primary: true`: the one `hosted ssh` "
                        "means when no machine is named.")


def _image_checksums(doc: Document, images: Mapping[str, schema.Image]) -> Iterator[ProfileError]:
    for name, image in images.items():
        if image.source is not None and is_url(image.source) and image.sha256 is None:
            yield doc.error(
                ("images", name, "source"), "a download needs its sha256: it is verified before use",
                "Add `sha256:` with the file's checksum (the download page lists it; "
                "`sha256sum FILE` computes it), or `sha256: file:URL` of the publisher's SHA256SUMS.",
            )


def _image_reference(doc: Document, merged: build.Merged,
                     images: Mapping[str, schema.Image]) -> Iterator[ProfileError]:
    name = merged.get("image")
    if name is not None and name not in images:
        close = difflib.get_close_matches(name, list(images), n=1, cutoff=0.6)
        known = ("Images in this profile: " + ", ".join(images) + ".") if images else \
            "Name the image under a top-level `images:` key (see docs/profile.md)."
        yield doc.error(merged.origin("image"), f"no image named {name!r} under `images:`",
                        (f"Did you mean {close[0]!r}? " if close else "") + known)
    if name is None and merged.get("cloud_init") is not None:
        yield doc.error(merged.origin("cloud_init"), "`cloud_init` needs an `image` (a cloud image)",
                        "Give the machine an `image:` whose image runs cloud-init, or remove `cloud_init`.",
                        at_key=True)


def _installer(doc: Document, merged: build.Merged,
               images: Mapping[str, schema.Image]) -> Iterator[ProfileError]:
    name = merged.get("image")
    if not build.is_installer(images.get(name or "")):
        if merged.get("install") is not None:
            yield doc.error(merged.origin("install"), "`install` needs an `image` that is an installer ISO",
                            "Give the machine an `image:` whose source is an installer .iso (or declare "
                            "`kind: iso` for it), or remove `install`.", at_key=True)
        return
    if merged.get("disk") is None:
        yield doc.error(merged.origin("image"), f"image {name!r} is an installer ISO: the machine needs "
                        "a `disk` to install the OS on",
                        "Add `disk:` with the size of the new disk, e.g. `disk: 20G`.", at_key=True)
    if merged.get("dvd") is not None:
        yield doc.error(merged.origin("dvd"), f"`dvd` cannot go with the installer ISO image {name!r}",
                        "The installer's media take the DVD drive; remove `dvd`.", at_key=True)
    for key in ("cloud_init", "linked"):
        if merged.get(key) is not None:
            yield doc.error(merged.origin(key), f"`{key}` does not apply to the installer ISO image {name!r}",
                            "An installer machine is installed from scratch, not cloned from a template "
                            f"nor seeded by cloud-init; remove `{key}`.", at_key=True)


def _unique_vm_names(doc: Document, env_name: str, machines: list[build.Merged]) -> Iterator[ProfileError]:
    seen: dict[str, str] = {}
    for merged in machines:
        vm_name = merged.get("vm_name") or f"{env_name}-{merged.name}"
        if vm_name.lower() in seen:
            given = merged.get("vm_name") is not None
            path = merged.origin("vm_name") if given else ("machines", merged.name)
            yield doc.error(
                path, f"machines {seen[vm_name.lower()]!r} and {merged.name!r} both have the "
                f"VirtualBox name {vm_name!r}",
                "Give each machine its own `vm_name` (a `vm_name` in defaults names every machine "
                "the same; VirtualBox compares names without case).", at_key=not given,
            )
        seen.setdefault(vm_name.lower(), merged.name)


def _unique_within(doc: Document, merged: build.Merged) -> Iterator[ProfileError]:
    nics: list[schema.NicEntry] = merged.get("nics") or []
    for i, entry in enumerate(nics):
        body = entry.nat or entry.natnetwork
        if body is not None:
            base = (*merged.origin("nics"), i, build.nic_kind(entry), "forwards")
            yield from _no_repeats(doc, base, body.forwards, build.forward_name, "forward",
                        "Give the forwards different `name:`s (the default name is tcp<guest port>).")
    folders: list[schema.SharedFolder] = merged.get("shared_folders") or []
    yield from _no_repeats(doc, merged.origin("shared_folders"), folders, build.share_name, "shared folder",
                "Give the shared folders different `name:`s (the default comes from the guest path).")
    steps = merged.steps()
    first: dict[str, KeyPath] = {}
    for i, (path, step) in enumerate(steps):
        name = build.step_name(i, step)
        if name in first:
            where = (*path, "name") if (*path, "name") in doc.value_marks else path
            yield doc.error(where, f"two provision steps are named {name!r} (the first is "
                            f"{format_path(first[name])})",
                            "Give the steps different `name:`s; hosted records which steps have run by name.")
        first.setdefault(name, path)


def _no_repeats(
    doc: Document, base: KeyPath, items: Iterable[T], name_of: Callable[[T], str], what: str, hint: str,
) -> Iterator[ProfileError]:
    first: dict[str, int] = {}
    for i, item in enumerate(items):
        name = name_of(item)
        if name in first:
            path = (*base, i)
            if (*path, "name") in doc.value_marks:
                path = (*path, "name")
            yield doc.error(path, f"two {what}s are named {name!r} (the first is "
                            f"{format_path((*base, first[name]))})", hint)
        first.setdefault(name, i)


@dataclass(frozen=True)
class _Claim:
    """A host port that a forward of the profile claims."""
    machine: str
    path: KeyPath
    address: str
    port: int
    protocol: str

    def clashes(self, other: _Claim) -> bool:
        same_address = self.address == other.address or \
            self.address in ANY_ADDRESSES or other.address in ANY_ADDRESSES
        return same_address and self.port == other.port and self.protocol == other.protocol


def _claims(machines: list[build.Merged]) -> Iterator[_Claim]:
    for merged in machines:
        nics: list[schema.NicEntry] = merged.get("nics") or []
        for i, entry in enumerate(nics):
            body = entry.nat or entry.natnetwork
            for j, fwd in enumerate(body.forwards if body is not None else ()):
                if fwd.host is not None:
                    path = (*merged.origin("nics"), i, build.nic_kind(entry), "forwards", j, "host")
                    yield _Claim(merged.name, path, fwd.host_ip, fwd.host, fwd.protocol)


def _host_ports(doc: Document, machines: list[build.Merged]) -> Iterator[ProfileError]:
    earlier: list[_Claim] = []
    for claim in _claims(machines):
        other = next((c for c in earlier if c.clashes(claim)), None)
        if other is not None:
            where = f"{claim.address or '*'}:{claim.port}/{claim.protocol}"
            if other.path == claim.path:
                message = (f"host port {where} is forwarded by both machine {other.machine!r} and "
                           f"machine {claim.machine!r}, which take this forward from defaults")
            else:
                pos = doc.position(other.path)
                line = f", line {pos.line}" if pos else ""
                message = (f"host port {where} is already forwarded by machine {other.machine!r} "
                           f"({format_path(other.path)}{line})")
            yield doc.error(claim.path, message,
                            "Use another host port, or `host: auto` to let hosted pick a free one.")
        earlier.append(claim)


def check_labs(doc: Document, machines: list[build.Merged],
               ansible: Sequence[schema.Ansible]) -> list[ProfileError]:
    """Disks, VirtualBox extra data, groups and ``ansible:`` runs, across machines."""
    problems: list[ProfileError] = []
    shared: dict[str, tuple[schema.DiskEntry, KeyPath]] = {}
    names = [m.name for m in machines]
    groups: set[str] = set()
    for merged in machines:
        disks: list[schema.DiskEntry] = merged.get("disks") or []
        base = merged.origin("disks")
        problems += _no_repeats(doc, base, disks, lambda d: d.name, "disk", "Give each disk its own `name:`.")
        ports = [d.port for d in disks if d.port is not None]
        for i, d in enumerate(disks):
            if d.port is not None and ports.count(d.port) > 1:
                problems.append(doc.error((*base, i, "port"), f"two disks on SATA port {d.port}",
                                          "Give each disk its own port, or leave `port` out."))
            if d.shareable:
                first = shared.setdefault(d.name, (d, (*base, i)))
                if (first[0].size, first[0].nonrotational) != (d.size, d.nonrotational):
                    problems.append(doc.error((*base, i), f"shareable disk {d.name!r} differs from the one "
                                              f"at {format_path(first[1])}", "A shareable disk is one disk: "
                                              "give it the same size and nonrotational everywhere."))
        extra = merged.sub("virtualbox", "extradata") or {}
        for key in extra:
            if str(key).lower().startswith("hosted/"):
                problems.append(doc.error((*merged.origin("virtualbox"), "extradata", key),
                                          f"extra data key {key!r} is hosted's own", "Use another key.",
                                          at_key=True))
        for group in merged.get("groups") or ():
            groups.add(group)
            if group in names:
                problems.append(doc.error(merged.origin("groups"), f"group {group!r} has the name of a "
                                          "machine", "Ansible names hosts and groups alike: rename one."))
    seen: dict[str, int] = {}
    for i, run in enumerate(ansible):
        name = build.ansible_name(run)
        if name in seen:
            problems.append(doc.error(("ansible", i), f"two ansible runs are named {name!r}",
                                      "Give them different `name:`s."))
        seen.setdefault(name, i)
        for j, target in enumerate(run.limit or ()):
            if target not in names and target not in groups and target != "all":
                close = difflib.get_close_matches(target, [*names, *groups], n=1, cutoff=0.6)
                problems.append(doc.error(("ansible", i, "limit", j), f"no machine or group {target!r}",
                                          (f"Did you mean {close[0]!r}? " if close else "") +
                                          "Machines: " + ", ".join(names) + "."))
    return problems
