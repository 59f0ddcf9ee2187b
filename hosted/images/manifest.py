"""A bundle's manifest (``hosted-bundle.json``), read as untrusted input.

Every field is checked before anything is extracted: its type, every path is
a plain relative path of safe components in its own part of the bundle
(``profile/`` or ``images/<sha256>/``), every digest is 64 hex digits, nothing
is listed twice.  A manifest that breaks a rule is a ``BundleError`` (exit 2)
naming the field; nothing of the host's is looked at, so no message can tell
whether a host file exists or what its digest is.
"""

from __future__ import annotations

import json
import re
import tarfile
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from hosted.errors import EXIT_INVALID, ImageError
from hosted.images.detect import KINDS

MANIFEST = "hosted-bundle.json"
SIGNATURE = "hosted-bundle.sig"
FORMAT = 1
MAX_MANIFEST_BYTES = 16 * 1024 * 1024
MAX_ENTRIES = 100_000
MAX_PATH = 1024
_HEX64 = re.compile(r"[0-9a-f]{64}")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_COMPONENT = re.compile(r"[^/\\\x00-\x1f\x7f]+")
ALTERED = "It was not made by hosted, or it was altered: do not use it, and ask for the bundle again."


class BundleError(ImageError):
    """A bundle that is not what ``hosted bundle`` writes (or was altered): nothing of it is used."""

    exit_code = EXIT_INVALID


@dataclass(frozen=True)
class Item:
    """One thing the manifest lists: what it is, its path in the bundle, its sha256."""

    what: str  # "the profile", "file profile/x.sh", "image 'debian'"
    path: str
    sha256: str


@dataclass(frozen=True)
class Manifest:
    """A bundle's manifest, as read and checked: the profile, images and files it lists."""
    raw: bytes  # as read: its digest names the extraction, and it is what a signature covers
    environment: str
    profile: Item
    images: tuple[Item, ...]
    files: tuple[Item, ...]
    sources: tuple[tuple[str, str], ...]  # image name -> its source, as the manifest says (redacted)
    signer: str | None = None  # the allowed signer whose good signature it carries, once verified

    @property
    def items(self) -> tuple[Item, ...]:
        return (*self.images, *self.files, self.profile)

    @cached_property
    def _listed(self) -> frozenset[str]:
        return frozenset(i.path for i in self.items)

    @cached_property
    def _ancestors(self) -> frozenset[str]:
        return frozenset(p.rsplit("/", n)[0] for p in self._listed for n in range(1, p.count("/") + 1))

    def member_problem(self, member: tarfile.TarInfo) -> str | None:
        """Why a tar entry is not one the manifest accounts for (None: it is).

        An entry listed as a directory (an image that is a directory, or a
        bundle's folder) covers what lies under it: its tree digest covers
        every file in it, so an extra one is found when it is verified."""
        name = member.name
        if member.issparse():
            return "a sparse file (hosted never writes one)"
        if name == self.profile.path:
            return None if member.isfile() else "the profile is not a file"
        parts = name.split("/")
        if any("/".join(parts[:n]) in self._listed for n in range(1, len(parts) + 1)):
            return None
        if member.isdir() and name in self._ancestors:
            return None  # a directory on the way to a listed path
        return "not listed in the manifest"


def parse(raw: bytes, where: str) -> Manifest:
    """The manifest in ``raw``; BundleError naming the first field that breaks a rule."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise _error(where, f"it is not JSON ({str(exc)[:100]})") from None
    if not isinstance(data, dict):
        raise _error(where, "it is not a JSON object")
    if data.get("hosted_bundle") != FORMAT:
        raise BundleError(f"{where}: unsupported bundle format {str(data.get('hosted_bundle'))[:40]!r}",
                          "Make the bundle again with this version of hosted.")
    environment = _text(data, "environment", where, _NAME)
    profile_path = _text(data, "profile", where, re.compile(r"profile/[^/\\]+\.ya?ml"))
    _path(profile_path, "profile", where)
    profile = Item("the profile", profile_path, _digest(data, "profile_sha256", where))
    images, sources = _images(_list(data, "images", where), where)
    files = tuple(_file(entry, f"files[{i}]", where) for i, entry in enumerate(_list(data, "files", where)))
    manifest = Manifest(raw, environment, profile, images, files, sources)
    _no_overlaps(manifest, where)
    return manifest


def _images(entries: list[Any], where: str) -> tuple[tuple[Item, ...], tuple[tuple[str, str], ...]]:
    items, sources = [], []
    for i, entry in enumerate(entries):
        field = f"images[{i}]"
        if not isinstance(entry, dict):
            raise _error(where, f"{field} is not a JSON object")
        name = _text(entry, "name", where, _NAME, field)
        sha = _digest(entry, "sha256", where, field)
        kind = _text(entry, "kind", where, None, field)
        if kind not in KINDS:
            raise _error(where, f"{field}.kind {kind[:20]!r} is not one of {', '.join(KINDS)}")
        path = _text(entry, "path", where, None, field)
        if not re.fullmatch(rf"images/{sha}/[A-Za-z0-9._-]+", path) or path.endswith(("/.", "/..")):
            raise _error(where, f"{field}.path must be images/<its sha256>/<a file name>")
        items.append(Item(f"image {name!r}", path, sha))
        source = entry.get("source", "")
        sources.append((name, source[:MAX_PATH] if isinstance(source, str) else ""))
    return tuple(items), tuple(sources)


def _file(entry: Any, field: str, where: str) -> Item:
    if not isinstance(entry, dict):
        raise _error(where, f"{field} is not a JSON object")
    path = _text(entry, "path", where, None, field)
    _path(path, f"{field}.path", where)
    if not path.startswith("profile/"):
        raise _error(where, f"{field}.path must be under profile/")
    return Item(f"file {path}", path, _digest(entry, "sha256", where, field))


def _path(path: str, field: str, where: str) -> None:
    """A relative path of plain components: never absolute, never `..`, no control characters."""
    parts = path.split("/")
    if len(path) > MAX_PATH or any(p in ("", ".", "..") or not _COMPONENT.fullmatch(p) for p in parts) \
            or not path.isprintable():
        raise _error(where, f"{field} is not a plain relative path inside the bundle")


def _no_overlaps(manifest: Manifest, where: str) -> None:
    paths = [i.path for i in manifest.items]
    if len(paths) > MAX_ENTRIES:
        raise _error(where, f"it lists more than {MAX_ENTRIES} entries")
    if len(set(paths)) != len(paths):
        raise _error(where, "it lists one path twice")
    names = [i.what for i in manifest.images]
    if len(set(names)) != len(names):
        raise _error(where, "it lists one image name twice")
    listed = set(paths)
    for path in paths:
        parts = path.split("/")
        if any("/".join(parts[:n]) in listed for n in range(1, len(parts))):
            raise _error(where, f"{path[:200]!r} lies inside another listed path")


def _list(data: dict[str, Any], key: str, where: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise _error(where, f"{key} is not a list")
    return value


def _text(data: dict[str, Any], key: str, where: str, pattern: re.Pattern[str] | None,
          parent: str = "") -> str:
    field = f"{parent}.{key}" if parent else key
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise _error(where, f"{field} is missing or not a string")
    if pattern is not None and not pattern.fullmatch(value):
        raise _error(where, f"{field} {value[:80]!r} is not allowed")
    return value


def _digest(data: dict[str, Any], key: str, where: str, parent: str = "") -> str:
    value = _text(data, key, where, None, parent)
    if not _HEX64.fullmatch(value):
        field = f"{parent}.{key}" if parent else key
        raise _error(where, f"{field} is not a sha256 (64 lower-case hex digits)")
    return value


def _error(where: str, problem: str) -> BundleError:
    return BundleError(f"{where}: the bundle's manifest is invalid: {problem}", ALTERED)
