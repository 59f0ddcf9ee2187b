"""From the profile's image to what a template is imported from (or an OS installed
from): the image cache's ``fetch`` (download/verify) and ``inspect`` (unpack, read
the OVF), turned into a PreparedImage.  The runner's FetchImage step calls it."""

from __future__ import annotations

import os

from hosted.errors import ImageError
from hosted.events import Emit, Event
from hosted.images import locks
from hosted.images.cache import fetch
from hosted.images.prepared import PreparedImage
from hosted.images.sources import ImageInfo, inspect
from hosted.model import ImageSpec, is_url


def prepared_image(name: str, info: ImageInfo) -> PreparedImage:
    """What to import: the OVF of a box/OVA/OVF, or the single disk of a disk image;
    for an installer ISO, the ISO itself (machines are installed from it, see images.unattended)."""
    if info.kind in ("box", "ova", "ovf"):
        if info.ovf is None:
            raise ImageError(f"image {name!r} has no OVF descriptor to import", "check the image file")
        return PreparedImage("ovf", str(info.ovf), info.sha256, info.arch, info.os_type or "")
    if info.kind == "disk" and info.disks:
        return PreparedImage("disk", str(info.disks[0]), info.sha256, info.arch, info.os_type or "")
    if info.kind == "iso" and info.iso is not None:
        return PreparedImage("iso", str(info.iso), info.sha256, info.arch, "")
    raise ImageError(f"image {name!r} ({info.kind}) holds nothing to import", "check the image file")


def from_cache(image: ImageSpec, emit: Emit) -> PreparedImage:
    """Fetch (or find in the cache) and verify ``image``, unpack it once, and say what to import.

    Machines of one image, created in parallel, wait for one download or hash of it."""
    key = image.sha256 if is_url(image.source) and image.sha256 else \
        f"box {image.name}" if image.box is not None and not image.source else os.path.abspath(image.source)

    def waiting() -> None:
        emit(Event("info", f"image {image.name}: waiting for another machine fetching it"))

    with locks.acquired(locks.thread_lock(f"image:{key}"), waiting):
        return prepared_image(image.name, inspect(fetch(image, emit)))
