"""From a fetched image to what VirtualBox imports: the OVF, the disks, the architecture.

``inspect`` unpacks a box or an OVA into its cache entry once (into a
temporary directory renamed into place, so a crash never leaves half an
unpacked image that looks complete) and reads what the image says about itself.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hosted import files
from hosted.errors import ImageError
from hosted.images import ovf, store
from hosted.images.arch import normalize_arch
from hosted.images.archive import UnsafeArchive, extract_tar
from hosted.images.cache import LocalImage
from hosted.images.detect import Kind


@dataclass(frozen=True)
class ImageInfo:
    """A usable image: what to import and what the image says about itself."""

    kind: Kind
    sha256: str
    ovf: Path | None  # the OVF descriptor to import (box, ova, ovf)
    disks: tuple[Path, ...]  # disk files: those the OVF references, or the disk image itself
    iso: Path | None = None  # an installer ISO
    arch: str | None = None  # "x86_64" / "arm64" from the image (OVF platform / OS type, box metadata)
    os_type: str | None = None  # VirtualBox guest OS type id from the OVF, when it names one
    box: dict[str, Any] = field(default_factory=dict)  # a box's metadata.json


def inspect(local: LocalImage) -> ImageInfo:
    """Unpack (once) and read ``local``; ImageError if it cannot be used with VirtualBox."""
    kind = local.kind
    if kind == "disk":
        return ImageInfo(kind, local.sha256, ovf=None, disks=(local.path,))
    if kind == "iso":
        return ImageInfo(kind, local.sha256, ovf=None, disks=(), iso=local.path)
    if kind == "ovf":
        descriptor = local.path if local.path.is_file() else next(local.path.glob("*.ovf"))
        return _from_ovf(kind, local.sha256, descriptor, {})
    root = local.path if local.path.is_dir() else unpack(local)
    metadata = _box_metadata(root, local) if kind == "box" else {}
    descriptors = sorted(root.glob("*.ovf")) or sorted(root.rglob("*.ovf"))
    if not descriptors:
        raise ImageError(f"image {local.name!r} holds no OVF descriptor",
                         "A box needs box.ovf; an .ova needs an .ovf. Check the file.")
    return _from_ovf(kind, local.sha256, descriptors[0], metadata)


def unpack(local: LocalImage) -> Path:
    """The image's files, unpacked into its cache entry (the first call does the work)."""
    target = store.entry_dir(local.sha256) / store.UNPACKED
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".unpack-", dir=target.parent))
    try:
        extract_tar(local.path, work, refuse_unsafe=False)  # boxes may carry links: skipped
        try:
            files.rename(work, target)
        except OSError:
            if not target.is_dir():  # not "another process finished first"
                raise
    except OSError as exc:
        raise ImageError(f"cannot unpack image {local.name!r}: {exc}",
                         "Check free space in the cache directory " f"({store.images_root()}).") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def _box_metadata(root: Path, local: LocalImage) -> dict[str, Any]:
    try:
        data = json.loads((root / "metadata.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ImageError(f"box {local.name!r} has no readable metadata.json ({exc})",
                         "A Vagrant box carries metadata.json with its provider.") from None
    if not isinstance(data, dict):
        raise ImageError(f"box {local.name!r}: metadata.json is not a JSON object",
                         "A Vagrant box's metadata.json looks like {\"provider\": \"virtualbox\"}.")
    provider = data.get("provider")
    if provider is not None and provider != "virtualbox":
        raise ImageError(f"box {local.name!r} is for the {provider!r} provider, not VirtualBox",
                         "Use the box's virtualbox version (`vagrant box add NAME --provider virtualbox`).")
    return data


def _from_ovf(kind: Kind, digest: str, descriptor: Path, metadata: dict[str, Any]) -> ImageInfo:
    read = ovf.read(descriptor)
    disks = []
    for href in read.files:
        disk = _beside(descriptor, href)
        if not disk.is_file():
            raise ImageError(f"{descriptor.name} refers to {href}, which is not beside it",
                             f"Put the OVF's disk files next to it in {descriptor.parent}.")
        disks.append(disk)
    arch = normalize_arch(str(metadata.get("architecture") or "")) or read.arch
    return ImageInfo(kind, digest, ovf=descriptor, disks=tuple(disks), arch=arch, os_type=read.os_type,
                     box=metadata)


def _beside(descriptor: Path, href: str) -> Path:
    """The file an OVF ``href`` names, which must lie in the descriptor's directory (VirtualBox would
    import any path, /etc/shadow or another user's disk included)."""
    directory = Path(os.path.realpath(descriptor.parent))
    disk = Path(os.path.realpath(descriptor.parent / href))
    if "://" in href or href.startswith(("/", "\\")) or ".." in href.replace("\\", "/").split("/") \
            or not href.isprintable() or not disk.is_relative_to(directory):
        raise UnsafeArchive(f"{descriptor.name} refers to {href[:200]!r}, outside its directory: refused",
                            "An OVF's disks lie beside it; this image was not made by an image tool, "
                            "or was altered: do not use it.")
    return disk
