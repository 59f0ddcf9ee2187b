"""``fetch``: an ImageSpec -> a local, verified image file and its digest.

A URL is downloaded (resuming an earlier interrupted try) into the
content-addressed cache and verified before it is kept; a URL whose sha256 is
already cached never touches the network.  A cached file is used as long as
its stat stamp (size, mtime, inode, ctime) is the one recorded when it was
verified; any other stamp has it hashed again, and a file that no longer
matches its digest is deleted and downloaded again.  A local path is used
where it is, hashed (once per path and stamp) and checked against ``sha256``
when the profile gives one.  The cache records a URL without its query and
user info, where download tokens live.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from hosted import files
from hosted.errors import ImageError
from hosted.events import Emit, Event, discard
from hosted.images import boxes, checksums, digest, download, store
from hosted.images.detect import Kind, detect
from hosted.model import ImageSpec, is_url
from hosted.redact import redact_url


@dataclass(frozen=True)
class LocalImage:
    """An image on this host, verified: its file (or directory), digest and kind."""

    name: str  # the profile's image name
    path: Path  # the cached download, or the local source itself
    sha256: str
    kind: Kind
    source: str  # the URL or path the profile gave
    declared_arch: str | None = None  # the profile's `arch:`, if any
    cloud_init: bool = False  # the profile's `cloud_init:` for the image


def fetch(image: ImageSpec, emit: Emit = discard, *, attempts: int = 3) -> LocalImage:
    """The image as a local verified file; ImageError on a checksum mismatch or a failed download."""
    try:
        image = boxes.resolved(image, emit)  # `box:`: the catalog's file for this host, and its sha256
        image = checksums.pinned(image, emit)  # `sha256: file:URL`: the digest the publisher lists
        entry = _fetch_url(image, emit, attempts) if is_url(image.source) else _hash_path(image, emit)
        kind = entry.kind
        if not kind or image.kind not in ("auto", kind):
            kind = detect(entry.path, image.kind)
            entry = store.record(entry.sha256, kind=kind)
    except OSError as exc:  # the cache's disk is full or read-only, or a file is in the way
        raise store.os_error(exc, f"fetch image {image.name!r}") from None
    return LocalImage(name=image.name, path=entry.path, sha256=entry.sha256, kind=_kind(kind),
                      source=image.source, declared_arch=image.arch, cloud_init=image.cloud_init)


def cached(image: ImageSpec) -> store.Entry | None:
    """The cache entry for a URL image, if it is there (no network, no hashing)."""
    if not is_url(image.source) or image.sha256 is None:
        return None
    entry = store.read(image.sha256)
    if entry is None or not entry.file or not _intact(entry):
        return None
    return entry


def _fetch_url(image: ImageSpec, emit: Emit, attempts: int) -> store.Entry:
    expected = image.sha256
    if expected is None:
        raise ImageError(f"image {image.name!r} is a download without a sha256",
                         "Add `sha256:` to the image in the profile: downloads are verified before use.")
    entry = cached(image)
    if entry is None:
        # One download per digest: threads and processes would write the same partial file.
        def waiting() -> None:
            emit(Event("info", f"waiting for another download of image {image.name}"))

        with store.locked(f"download-{expected}", waiting):
            entry = cached(image)  # whoever waited finds it downloaded
            if entry is None:
                return _download(image, expected, emit, attempts)
    emit(Event("info", f"image {image.name} is cached ({expected[:12]})"))
    return store.record(expected, name=image.name)


def _download(image: ImageSpec, expected: str, emit: Emit, attempts: int) -> store.Entry:
    partial = store.partial_path(expected)
    got = download.download(image.source, partial, image.name, emit, attempts=attempts)
    if got != expected:
        partial.unlink(missing_ok=True)
        raise mismatch(image, expected, got, "downloaded")
    name = _file_name(image)
    directory = store.entry_dir(expected)
    directory.mkdir(parents=True, exist_ok=True)
    files.replace(partial, directory / name)
    now = time.time()
    return store.record(expected, source=redact_url(image.source), name=image.name, file=name,
                        size=(directory / name).stat().st_size, added=now,
                        stamp=tuple(digest.stamp(directory / name)))


def _hash_path(image: ImageSpec, emit: Emit) -> store.Entry:
    path = Path(image.source)
    if not path.exists():
        raise ImageError(f"image {image.name!r}: {path} does not exist",
                         "Check the image's `source:` path (relative to the profile).")
    started = time.monotonic()

    def progress(done: int, total: int) -> None:
        if time.monotonic() - started > 1.0 or done == total:
            emit(Event("progress", f"checking {image.name}", percent=100.0 * done / max(total, 1)))

    got = digest.sha256_of(path, progress)
    if image.sha256 is not None and got != image.sha256:
        raise mismatch(image, image.sha256, got, "local")
    old = store.read(got)
    if old is not None and old.file and _intact(old):  # the same bytes were downloaded before
        return store.record(got, name=image.name)
    size = path.stat().st_size if path.is_file() else 0
    return store.record(got, source=str(path), name=image.name, file="", size=size)


def mismatch(image: ImageSpec, expected: str, got: str, what: str) -> ImageError:
    kept = "the download was deleted" if what == "downloaded" else "nothing was imported"
    hint = ("The file is corrupt or not the one the profile means: check the `sha256:` against the "
            "publisher's checksum, or the `source:`.")
    if image.sha256_file:
        hint = (f"{image.sha256_file} lists {expected}: the file is corrupt, or the server replaced it "
                "after that list was read; run the command again.")
    return ImageError(
        f"image {image.name!r}: sha256 mismatch for the {what} file: expected {expected}, got {got} ({kept})",
        hint)


def _intact(entry: store.Entry) -> bool:
    """The cached file is the one verified: same stamp, or hashed again and matching (else deleted)."""
    try:
        now = tuple(digest.stamp(entry.path))
        if now[0] != entry.size:
            return False
        if now == entry.stamp:
            return True
        if digest.sha256_file(entry.path) != entry.sha256:
            entry.path.unlink(missing_ok=True)  # altered or damaged: downloaded again
            return False
    except OSError:
        return False
    store.record(entry.sha256, stamp=tuple(digest.stamp(entry.path)))
    return True


def _file_name(image: ImageSpec) -> str:
    """The download's file name from the URL's path (VirtualBox reads formats by extension too)."""
    name = unquote(urlsplit(image.source).path.rsplit("/", 1)[-1])
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", name).lstrip(".")
    return name if name and name != store.META and name != store.UNPACKED else f"{image.name}.img"


def _kind(value: str) -> Kind:
    for kind in ("box", "ova", "ovf", "disk", "iso"):
        if value == kind:
            return kind
    raise ImageError(f"unknown image kind {value!r} in the cache", "Run `hosted images prune --all`.")
