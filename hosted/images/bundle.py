"""Offline bundles: one tar holding a profile, every image it uses, and their checksums.

Layout of the tar (uncompressed: images are compressed already)::

    hosted-bundle.json            manifest: environment, profile, images and files with sha256
    profile/<profile>.yaml        the profile, its image sources pointing into images/
    profile/<relative path>       files the profile refers to (scripts, ISOs...) under its directory
    images/<sha256>/<file>        each image (a file, or a directory such as a box store entry)

``open_bundle`` extracts a bundle once under the cache directory, verifies
every checksum before anything is used (a mismatch is refused and nothing is
kept), and returns the extracted profile: loading it fetches nothing.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hosted import paths
from hosted.errors import ImageError
from hosted.events import Emit, Event, discard
from hosted.images import digest, store
from hosted.images.archive import extract_tar
from hosted.images.cache import fetch
from hosted.images.rewrite import referenced_paths, rewrite_sources
from hosted.model import Environment

MANIFEST = "hosted-bundle.json"
FORMAT = 1
SUFFIX = ".bundle"


@dataclass(frozen=True)
class BundleSummary:
    path: Path
    environment: str
    images: tuple[tuple[str, str], ...]  # (name, sha256)
    files: tuple[str, ...]  # other files, relative to the profile
    skipped: tuple[str, ...]  # referenced paths outside the profile's directory (not bundled)
    bytes: int


def is_bundle(path: Path) -> bool:
    """A ``.bundle`` file, or any tar that is not YAML by name (checked before a profile is read)."""
    if path.suffix == SUFFIX:
        return True
    return path.is_file() and path.suffix not in (".yaml", ".yml") and tarfile.is_tarfile(path)


def write_bundle(env: Environment, output: Path, emit: Emit = discard) -> BundleSummary:
    """Fetch the profile's images (from the cache when there) and write the bundle to ``output``.

    Takes the loaded profile (the profile package opens bundles, so it is the
    one that imports this module, not the other way round)."""
    locals_ = [fetch(image, emit) for image in env.images]
    base = Path(env.path).parent
    sources = {li.name: f"../images/{li.sha256}/{li.path.name}" for li in locals_}
    files, skipped = referenced_paths(env)
    for outside in skipped:
        emit(Event("warning", f"{outside} is outside the profile's directory: not in the bundle "
                              "(it must exist where the bundle is used)"))
    profile_bytes = rewrite_sources(Path(env.path).read_text(encoding="utf-8"), env.path, sources).encode()
    members = [(f, f"profile/{f.relative_to(base).as_posix()}") for f in files]
    manifest: dict[str, Any] = {
        "hosted_bundle": FORMAT, "environment": env.name, "profile": f"profile/{Path(env.path).name}",
        "profile_sha256": hashlib.sha256(profile_bytes).hexdigest(),
        "images": [{"name": li.name, "sha256": li.sha256, "kind": li.kind, "source": li.source,
                    "path": sources[li.name].removeprefix("../")} for li in locals_],
        "files": [{"path": name, "sha256": digest.sha256_of(f)} for f, name in members],
    }
    members += [(li.path, sources[li.name].removeprefix("../")) for li in locals_]
    _write_tar(output, manifest, profile_bytes, members, emit)
    return BundleSummary(output, env.name, tuple((li.name, li.sha256) for li in locals_),
                         tuple(str(f.relative_to(base)) for f in files), tuple(map(str, skipped)),
                         output.stat().st_size)


def _write_tar(output: Path, manifest: dict[str, Any], profile_bytes: bytes,
               members: list[tuple[Path, str]], emit: Emit) -> None:
    """The manifest first (read without scanning the whole tar), then the profile, files and images."""
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.{os.getpid()}.tmp")
    try:
        with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT, dereference=True) as tar:
            _add_bytes(tar, MANIFEST, json.dumps(manifest, indent=1).encode())
            _add_bytes(tar, manifest["profile"], profile_bytes)
            for path, name in members:
                if name.startswith("images/"):
                    emit(Event("info", f"adding {name}"))
                tar.add(path, name)
        os.replace(tmp, output)
    except OSError as exc:
        raise ImageError(f"cannot write the bundle {output}: {exc.strerror or exc} ({exc.filename or tmp})",
                         f"Check free space and permissions in {output.parent}, and that "
                         f"{output} is not a directory.") from None
    finally:
        tmp.unlink(missing_ok=True)


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, fileobj=io.BytesIO(data))


def open_bundle(path: Path, emit: Emit = discard) -> Path:
    """Extract ``path`` (once), verify every checksum, and return the extracted profile's path."""
    manifest, raw = _read_manifest(path)
    key = hashlib.sha256(raw).hexdigest()[:32]
    target = paths.cache_dir() / "bundles" / key
    try:
        if not target.is_dir():
            _extract_once(path, manifest, target, emit)
        else:
            verify(target, manifest)  # cheap: digests are remembered by path, size and mtime
    except OSError as exc:
        raise store.os_error(exc, f"extract the bundle {path}") from None
    return target / str(manifest["profile"])


def _extract_once(path: Path, manifest: dict[str, Any], target: Path, emit: Emit) -> None:
    """Into a temporary directory renamed to ``target``: a half extraction never looks complete."""
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".extract-", dir=target.parent))
    try:
        emit(Event("info", f"extracting bundle {path.name}"))
        extract_tar(path, work, refuse_unsafe=True)
        verify(work, manifest)
        try:
            os.rename(work, target)
        except OSError:
            if not target.is_dir():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _read_manifest(path: Path) -> tuple[dict[str, Any], bytes]:
    try:
        with tarfile.open(path, "r:*") as tar:
            first = tar.next()  # the manifest comes first: no scan through the images
            if first is None or first.name != MANIFEST:
                raise KeyError(f"no {MANIFEST} at its start")
            member = tar.extractfile(first)
            raw = member.read() if member is not None else b""
        manifest = json.loads(raw)
    except (OSError, tarfile.TarError, KeyError, ValueError) as exc:
        raise ImageError(f"{path} is not a hosted bundle ({exc})",
                         "Make bundles with `hosted bundle -f PROFILE -o FILE.bundle`.") from None
    if not isinstance(manifest, dict) or manifest.get("hosted_bundle") != FORMAT:
        raise ImageError(f"{path}: unsupported bundle format {manifest.get('hosted_bundle')!r}",
                         "Make the bundle again with this version of hosted.")
    return manifest, raw


def verify(root: Path, manifest: dict[str, Any]) -> None:
    """Every image, file and the profile match the manifest; ImageError with both digests if not."""
    checks = [(f"image {i['name']!r}", i["path"], i["sha256"]) for i in manifest.get("images", [])]
    checks += [(f"file {f['path']}", f["path"], f["sha256"]) for f in manifest.get("files", [])]
    checks.append(("the profile", manifest["profile"], manifest.get("profile_sha256", "")))
    for what, relative, expected in checks:
        item = root / relative
        if not item.exists():
            raise ImageError(f"the bundle lacks {what} ({relative})",
                             "The bundle is incomplete: copy it again or make it again.")
        got = digest.sha256_of(item)
        if got != expected:
            raise ImageError(
                f"the bundle's {what} is corrupt: sha256 expected {expected}, got {got} (nothing was used)",
                "Copy the bundle again (the copy may be damaged), or make it again with `hosted bundle`.")
