"""Base images: sources, the content-addressed cache, cloud-init seeds, offline bundles.

For the VirtualBox side (templates, clones), the entry points are::

    fetch(image: ImageSpec, emit) -> LocalImage        # hosted.images.cache: local, verified
    inspect(local: LocalImage) -> ImageInfo            # hosted.images.sources: OVF, disks, arch
    needs_seed(env, machine) / write_seed(env, machine) -> Path   # hosted.images.seed
    prune_cache(keep: set[str]) -> list[Removed]       # hosted.images.inventory
    open_bundle(path, allowed_signers=None) -> Path    # hosted.images.bundle
    unpack_bundle(path, allowed_signers=None) -> OpenedBundle   # ... and who signed it
    sign_bundle(path, key) / verify_bundle(path, allowed_signers) -> signer   # hosted.images.signing
    summarize(env) -> list[str]                        # hosted.images.trust: what it shares, copies, runs
    require_trust(opened, env, yes=, confirm=, emit=)  # a good signature, or the user's go-ahead

Only the standard library is used for HTTP; ``pycdlib`` (pure Python) writes seeds.
The names below are imported on first use: ``hosted.apply`` needs templates and
seeds, not HTTP, tar or XML (``python -X importtime -c "import hosted.apply"``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hosted.images.bundle import (
        BundleError,
        BundleSummary,
        OpenedBundle,
        is_bundle,
        open_bundle,
        unpack_bundle,
        write_bundle,
    )
    from hosted.images.cache import LocalImage, fetch
    from hosted.images.inventory import Removed, digests_in_use, list_cache, prune_cache
    from hosted.images.signing import BadSignature, UnsignedBundle, sign_bundle, verify_bundle
    from hosted.images.sources import ImageInfo, inspect
    from hosted.images.trust import UnconfirmedBundle, require_trust, summarize
    from hosted.model import is_url

_WHERE = {
    **dict.fromkeys(("BundleError", "BundleSummary", "OpenedBundle", "is_bundle", "open_bundle",
                     "unpack_bundle", "write_bundle"), "bundle"),
    **dict.fromkeys(("BadSignature", "UnsignedBundle", "sign_bundle", "verify_bundle"), "signing"),
    **dict.fromkeys(("UnconfirmedBundle", "require_trust", "summarize"), "trust"),
    **dict.fromkeys(("LocalImage", "fetch"), "cache"),
    **dict.fromkeys(("Removed", "digests_in_use", "list_cache", "prune_cache"), "inventory"),
    **dict.fromkeys(("ImageInfo", "inspect"), "sources"),
}

__all__ = [
    "BadSignature",
    "BundleError",
    "BundleSummary",
    "ImageInfo",
    "LocalImage",
    "OpenedBundle",
    "Removed",
    "UnconfirmedBundle",
    "UnsignedBundle",
    "digests_in_use",
    "fetch",
    "inspect",
    "is_bundle",
    "is_url",
    "list_cache",
    "open_bundle",
    "prune_cache",
    "require_trust",
    "sign_bundle",
    "summarize",
    "unpack_bundle",
    "verify_bundle",
    "write_bundle",
]


def __getattr__(name: str) -> Any:
    if name == "is_url":
        from hosted.model import is_url

        return is_url
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'hosted.images' has no attribute {name!r}")
    return getattr(importlib.import_module(f"hosted.images.{module}"), name)
