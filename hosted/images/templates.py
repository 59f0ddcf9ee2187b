"""Templates: each image imported into the hypervisor once, every machine a clone of it.

``ensure_template`` reuses a healthy template of the same image digest, and
re-imports one that is missing or broken (never trusting it); the image's CPU
architecture is checked against the host before anything is imported.
Templates are reference-counted through the hypervisor's own tags, so
``prune_templates`` removes only those no machine uses.
"""

from __future__ import annotations

import os
import shlex

from hosted.backend.base import Backend, TemplateInfo, TemplateSource
from hosted.errors import HostedError, ImageError
from hosted.events import Emit, Event
from hosted.images import locks
from hosted.images.arch import host_arch, normalize_arch
from hosted.images.prepared import PreparedImage
from hosted.model import ImageSpec


def check_arch(image: ImageSpec, local: PreparedImage, host_machine: str | None = None) -> None:
    """Refuse an image built for another CPU family than the host's (before any import)."""
    declared = image.arch or local.arch
    if not declared:
        return
    have = host_arch(host_machine)
    host = have if host_machine is None else host_machine
    want = normalize_arch(declared)
    if want is None:
        raise ImageError(f"image '{image.name}': unknown CPU architecture {declared!r}",
                         "set `arch:` to x86_64 or arm64 for this image in the profile")
    if have is not None and want != have:
        other = "arm64" if have == "arm64" else "amd64"
        raise ImageError(
            f"image '{image.name}' is for {declared} but this host is {host}: VirtualBox cannot run it",
            f"use a build of the image for {host} (for example an {other} box)")


def ensure_template(
    backend: Backend, image: ImageSpec, local: PreparedImage, emit: Emit, *, host_machine: str | None = None,
) -> str:
    """The uuid of a healthy template of ``local``, importing it when there is none."""
    if local.kind == "iso":
        raise ImageError(f"image '{image.name}' is an installer ISO: machines are installed from it, "
                         "not cloned", "give the machine a `disk:`; `hosted up` installs the OS on it")
    check_arch(image, local, host_machine)
    with locks.thread_lock(f"template:{local.digest}"):  # machines of one image share one import
        found = backend.find_template(local.digest)  # not who uses it: that reads every machine
        if found is not None and found.healthy:
            emit(Event("info", f"image '{image.name}': reusing template {found.vm_name}"))
            return found.uuid
        if found is not None:  # every broken template of the image, with who uses each
            for broken in backend.list_templates():
                if broken.digest == local.digest and not broken.healthy:
                    _drop_broken(backend, image, broken, emit)
        source = TemplateSource(image.name, local.kind, local.path, local.digest,
                                normalize_arch(image.arch or local.arch) or "", local.os_type)
        return backend.import_template(source, emit).uuid


def _drop_broken(backend: Backend, image: ImageSpec, broken: TemplateInfo, emit: Emit) -> None:
    why = f"image '{image.name}': template {broken.vm_name} is broken ({broken.problem})"
    if broken.users:
        emit(Event("warning", f"{why}; importing the image again, the old template stays for the "
                              f"{len(broken.users)} machine(s) made from it"))
        return
    emit(Event("warning", f"{why}; removing it and importing the image again"))
    try:
        backend.delete_template(broken.uuid, emit)
    except HostedError as exc:
        emit(Event("warning", f"could not remove {broken.vm_name}: {exc.message}"))


def prune_templates(
    backend: Backend, emit: Emit, *, keep: frozenset[str] = frozenset()
) -> list[TemplateInfo]:
    """Remove every template no machine uses (digests in ``keep`` stay); returns the removed ones."""
    backend.recover(emit)  # a template import a kill interrupted: its leftovers go first
    removed = []
    for template in backend.list_templates():
        if template.users or template.digest in keep:
            continue
        backend.delete_template(template.uuid, emit)
        emit(Event("info", f"removed template {template.vm_name} ({template.image_name or 'unknown image'})"))
        removed.append(template)
    return removed


def digests_used_on_host(backend: Backend, templates: list[TemplateInfo] | None = None) -> set[str]:
    """The images some machine on this host still uses, whatever its profile: the digests of
    templates that have clones, and of cached images in a machine's DVD drive (an installer ISO,
    also behind the VISO an unattended install wraps it in).  One pass over the templates
    (``templates``, if already listed) and one over the machines."""
    from hosted.images import store

    used = {t.digest for t in (backend.list_templates() if templates is None else templates)
            if t.users and t.digest}
    attached = {os.path.realpath(path) for m in backend.list_machines() if m.dvd
                for path in (m.dvd, *_wrapped(m.dvd))}
    for entry in store.entries():
        inside = os.path.realpath(entry.directory) + os.sep
        if os.path.realpath(entry.path) in attached or any(p.startswith(inside) for p in attached):
            used.add(entry.sha256)
    return used


def _wrapped(dvd: str) -> list[str]:
    """The ISOs a VISO (VirtualBox's ISO-maker file, small text) imports: ``--import-iso PATH``."""
    if not dvd.lower().endswith(".viso"):
        return []
    try:
        with open(dvd, encoding="utf-8", errors="replace") as fh:
            words = shlex.split(fh.read(65536), comments=False)
    except (OSError, ValueError):
        return []
    found = [w.split("=", 1)[1] for w in words if w.startswith("--import-iso=")]
    found += [words[i + 1] for i, w in enumerate(words[:-1]) if w == "--import-iso"]
    return found
