"""Vagrant boxes by name: ``box: bento/ubuntu-22.04`` (or ``box_url:``) resolved through the box
catalog's metadata format to the VirtualBox file for this host's CPU, and its published checksum.

The metadata (Vagrant's format, served by its catalog at ``CATALOG/NAME`` when asked for JSON, or
by any web server: a mirror, a workshop's laptop) lists versions, each with providers::

    {"name": "bento/ubuntu-22.04", "versions": [{"version": "202401.31.0", "providers": [
        {"name": "virtualbox", "architecture": "amd64", "url": "https://.../x.box",
         "checksum_type": "sha256", "checksum": "..."}]}]}

The declared ``version`` (else the newest) and its ``virtualbox`` provider for this host's
architecture (a provider that names none is taken as fitting any) give the file's URL and sha256;
the download is verified against that sha256 like a pasted one.  A resolution is remembered, so a
box already in the cache is used without the network (with a warning when the catalog cannot be
reached), and a bundle carries the resolved file itself.
"""

from __future__ import annotations

import json
import os
import platform
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from hosted.errors import ImageError
from hosted.events import Emit, Event
from hosted.images import store
from hosted.model import BoxRef, ImageSpec
from hosted.redact import redact_url

DEFAULT_CATALOG = "https://vagrantcloud.com"
CATALOG_VARIABLE = "HOSTED_BOX_CATALOG"
PROVIDER = "virtualbox"
MAX_BYTES = 4 * 1024 * 1024
TIMEOUT = 30.0
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
_HOSTED_ARCH = {"amd64": "x86_64", "arm64": "arm64"}


@dataclass(frozen=True)
class Resolved:
    """A box found in a catalogue: where to download it, its digest, version and architecture."""
    url: str
    sha256: str
    version: str
    architecture: str  # the provider's ("" when it names none)


def host_architecture() -> str:
    """This host's CPU as box metadata names it: amd64 or arm64."""
    machine = platform.machine().lower()
    return _ARCH.get(machine, machine)


def metadata_url(box: BoxRef) -> str:
    if box.metadata_url:
        return box.metadata_url
    catalog = box.catalog or os.environ.get(CATALOG_VARIABLE) or DEFAULT_CATALOG
    return f"{catalog.rstrip('/')}/{box.name}"


def known(image: ImageSpec) -> ImageSpec:
    """``image`` with its remembered resolution (no network); unchanged when there is none."""
    if image.box is None or image.source:
        return image
    found = _remembered(image.box)
    return image if found is None else _apply(image, found)


def resolved(image: ImageSpec, emit: Emit) -> ImageSpec:
    """``image`` pointed at the box file its catalog lists for this host, with its sha256."""
    if image.box is None or image.source:
        return image
    box = image.box
    url = metadata_url(box)
    try:
        data = _download(url)
    except _Unreachable as exc:
        found = _remembered(box)
        if found is None:
            err = ImageError(f"image {image.name!r}: cannot read the metadata of box {box.label} at "
                             f"{redact_url(url)}: {exc}",
                             "Check the network, or the catalog URL (`catalog:` or $HOSTED_BOX_CATALOG); "
                             "offline, use a bundle made with `hosted bundle`.")
            err.retryable = True
            raise err from None
        emit(Event("warning", f"image {image.name}: cannot read the box catalog ({exc}); using {found.url} "
                              f"as resolved before"))
        return _apply(image, found)
    found = choose(data, box, image.name, url)
    _remember(box, found)
    emit(Event("info", f"image {image.name}: box {box.name or redact_url(url)} {found.version} -> "
                       f"{redact_url(found.url)} (sha256 {found.sha256[:12]})"))
    return _apply(image, found)


def _apply(image: ImageSpec, found: Resolved) -> ImageSpec:
    arch = image.arch or _HOSTED_ARCH.get(found.architecture)
    return replace(image, source=found.url, sha256=found.sha256,
                   kind="box" if image.kind == "auto" else image.kind, arch=arch)


def choose(data: Any, box: BoxRef, image: str, url: str) -> Resolved:
    """The version and the VirtualBox provider for this host from box metadata ``data``."""
    where = f"image {image!r}: box {box.name or redact_url(url)}"
    versions = data.get("versions") if isinstance(data, dict) else None
    if not isinstance(versions, list) or not versions:
        raise ImageError(f"{where}: {redact_url(url)} is not box metadata (no versions)",
                         "Point `box_url:` (or the catalog) at Vagrant box metadata JSON.")
    listed = [v for v in versions if isinstance(v, dict) and isinstance(v.get("version"), str)]
    active = [v for v in listed if v.get("status", "active") == "active"] or listed
    if box.version is not None:
        picked = next((v for v in listed if v["version"] == box.version), None)
        if picked is None:
            newest = ", ".join(v["version"] for v in sorted(listed, key=_version_key, reverse=True)[:5])
            raise ImageError(f"{where}: no version {box.version} (newest: {newest or 'none'})",
                             "Give one of the listed versions, or leave `version:` out for the newest.")
    else:
        picked = max(active, key=_version_key)
    return _provider(picked, where)


def _provider(version: dict[str, Any], where: str) -> Resolved:
    providers = [p for p in version.get("providers") or [] if isinstance(p, dict)]
    ours = [p for p in providers if p.get("name") == PROVIDER]
    arch = host_architecture()
    fitting = [p for p in ours if p.get("architecture") == arch] or \
        [p for p in ours if p.get("architecture") in (None, "", "unknown")]
    if not fitting:
        offered = ", ".join(sorted({f"{p.get('name')}/{p.get('architecture') or 'any'}" for p in providers}))
        raise ImageError(f"{where} {version['version']} has no {PROVIDER} provider for {arch} (it has: "
                         f"{offered or 'none'})",
                         "Choose a box (or version) published for VirtualBox on this CPU, or name its file "
                         "with `source:` and `sha256:`.")
    provider = fitting[0]
    kind = str(provider.get("checksum_type") or "").lower()
    checksum = str(provider.get("checksum") or "")
    url = provider.get("url")
    if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
        raise ImageError(f"{where} {version['version']}: the {PROVIDER} provider has no http(s) url",
                         "Check the box metadata.")
    if kind not in ("sha256", "sha-256") or not _SHA256.fullmatch(checksum):
        raise ImageError(f"{where} {version['version']}: the catalog lists no sha256 for its file "
                         f"(checksum_type {kind or 'none'})",
                         "hosted verifies downloads by sha256: give the image as `source:` with `sha256:`.")
    return Resolved(url, checksum.lower(), str(version["version"]), str(provider.get("architecture") or ""))


def _version_key(version: dict[str, Any]) -> tuple[tuple[int, int | str], ...]:
    parts = re.split(r"[.+-]", str(version.get("version", "")))
    return tuple((0, int(p)) if p.isdigit() else (-1, p) for p in parts)


class _Unreachable(Exception):
    """The metadata could not be read for a reason that may pass (network, timeout)."""


def _download(url: str) -> Any:
    request = urllib.request.Request(url, headers={"User-Agent": "hosted (python urllib)",
                                                   "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            raw: bytes = response.read(MAX_BYTES + 1)
    except urllib.error.HTTPError as exc:
        err = ImageError(f"cannot read the box metadata at {redact_url(url)}: HTTP {exc.code} {exc.reason}",
                         "Check the box name and the catalog URL (`catalog:`, $HOSTED_BOX_CATALOG).")
        err.retryable = exc.code >= 500 or exc.code == 429
        raise err from None
    except urllib.error.URLError as exc:
        raise _Unreachable(str(exc.reason)) from None
    except OSError as exc:
        raise _Unreachable(str(exc) or type(exc).__name__) from None
    if len(raw) > MAX_BYTES:
        raise ImageError(f"{redact_url(url)} is larger than {MAX_BYTES // 1048576} MiB: not box metadata",
                         "Point `box_url:` at the box's metadata JSON.")
    try:
        return json.loads(raw.decode("utf-8", errors="replace"))
    except ValueError:
        raise ImageError(f"{redact_url(url)} is not JSON box metadata",
                         "Point `box_url:` (or the catalog) at Vagrant box metadata JSON.") from None


def _record() -> Path:
    return store.images_root() / "boxes.json"


def _key(box: BoxRef) -> str:
    return f"{redact_url(metadata_url(box))} {box.version or 'newest'} {host_architecture()}"


def _remembered(box: BoxRef) -> Resolved | None:
    try:
        data: Any = json.loads(_record().read_text(encoding="utf-8"))
        entry = data[_key(box)]
        found = Resolved(str(entry["url"]), str(entry["sha256"]), str(entry["version"]),
                         str(entry.get("architecture", "")))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return found if _SHA256.fullmatch(found.sha256) else None


def _remember(box: BoxRef, found: Resolved) -> None:
    def add(data: dict[str, Any]) -> dict[str, Any]:
        entry = {"url": redact_url(found.url), "sha256": found.sha256, "version": found.version,
                 "architecture": found.architecture, "read": time.time()}
        return {**data, _key(box): entry}

    store.update_json(_record(), add)
