"""Base images: sources, the content-addressed cache, cloud-init seeds, offline bundles.

For the VirtualBox side (templates, clones), the entry points are::

    fetch(image: ImageSpec, emit) -> LocalImage        # hosted.images.cache: local, verified
    inspect(local: LocalImage) -> ImageInfo            # hosted.images.sources: OVF, disks, arch
    needs_seed(env, machine) / write_seed(env, machine) -> Path   # hosted.images.seed
    prune_cache(keep: set[str]) -> list[Removed]       # hosted.images.inventory
    open_bundle(path) -> Path                          # hosted.images.bundle

Only the standard library is used for HTTP; ``pycdlib`` (pure Python) writes seeds.
"""

from hosted.images.bundle import BundleSummary, is_bundle, open_bundle, write_bundle
from hosted.images.cache import LocalImage, fetch
from hosted.images.inventory import Removed, digests_in_use, list_cache, prune_cache
from hosted.images.sources import ImageInfo, inspect
from hosted.model import is_url

__all__ = [
    "BundleSummary",
    "ImageInfo",
    "LocalImage",
    "Removed",
    "digests_in_use",
    "fetch",
    "inspect",
    "is_bundle",
    "is_url",
    "list_cache",
    "open_bundle",
    "prune_cache",
    "write_bundle",
]
