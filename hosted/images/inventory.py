"""What the image cache holds, which images a profile uses, and pruning the rest."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from hosted.images import boxes, checksums, digest, store
from hosted.model import ImageSpec, is_url

DAY = 24 * 3600.0


@dataclass(frozen=True)
class Removed:
    """An image or a partial download that `hosted images prune` removed."""
    sha256: str  # the digest, or "" for a partial download of an unknown digest
    source: str
    bytes: int
    what: str  # "image" or "partial download"


def list_cache() -> list[store.Entry]:
    """Every cached image, most recently used first."""
    return sorted(store.entries(), key=lambda e: e.last_used, reverse=True)


def digests_in_use(images: Iterable[ImageSpec]) -> set[str]:
    """The sha256 of each image: the profile's for URLs, else the local file's (hashed, remembered)."""
    keep = set()
    for image in images:
        image = boxes.known(image)
        if image.box is not None and not image.source:
            continue  # a box never resolved here: nothing of it is cached
        if image.sha256 is not None:
            keep.add(image.sha256)
        elif (listed := checksums.remembered(image)) is not None:  # `sha256: file:`, when last read
            keep.add(listed)
        elif not is_url(image.source) and Path(image.source).exists():
            keep.add(digest.sha256_of(Path(image.source)))
    return keep


def prune_cache(keep: set[str], older_than_days: float | None = None, *,
                dry_run: bool = False) -> list[Removed]:
    """Remove cached images (and partial downloads) whose digest is not in ``keep``.

    With ``older_than_days``, only those not used for that many days.  A local
    path source's entry holds only what hosted unpacked from it; the source file
    itself is never touched.  ``dry_run``: only say what would be removed.
    """
    cutoff = None if older_than_days is None else time.time() - older_than_days * DAY
    removed = []
    for entry in store.entries():
        if entry.sha256 in keep or (cutoff is not None and entry.last_used > cutoff):
            continue
        size = entry.stored_bytes()
        if not dry_run:
            store.remove(entry.sha256)
        removed.append(Removed(entry.sha256, entry.source, size, "image"))
    downloads = store.images_root() / "downloads"
    for partial in sorted(downloads.glob("*.partial")) if downloads.is_dir() else ():
        name = partial.name.removesuffix(".partial")
        if name in keep or (cutoff is not None and partial.stat().st_mtime > cutoff):
            continue
        size = partial.stat().st_size
        if not dry_run:
            partial.unlink(missing_ok=True)
        removed.append(Removed(name, "", size, "partial download"))
    if not dry_run:
        digest.forget_missing()
    return removed
