"""Offline bundles: one tar holding a profile, every image it uses, and their checksums.

Layout of the tar (uncompressed: images are compressed already)::

    hosted-bundle.json            manifest: environment, profile, images and files with sha256
    hosted-bundle.sig             (signed bundles) OpenSSH signature of the manifest, see ``signing``
    profile/<profile>.yaml        the profile, its image sources pointing into images/
    profile/<relative path>       files the profile refers to (scripts, ISOs...) under its directory
    images/<sha256>/<file>        each image (a file, or a directory such as a box store entry)

``open_bundle`` reads the manifest as untrusted input (``manifest.parse``),
checks the signature when asked to (``signing``), refuses any entry the
manifest does not list (and links, devices, sparse files, bombs) before it
makes so much as a directory, extracts once under the cache directory,
verifies every checksum and validates the profile before anything is kept
(a refused bundle leaves nothing behind), and returns the extracted profile:
loading it fetches nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import stat
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from hosted import files, paths
from hosted.errors import ImageError
from hosted.events import Emit, Event, discard
from hosted.images import digest, store
from hosted.images.archive import UnreadableArchive, UnsafeArchive, checked_tar
from hosted.images.manifest import ALTERED, FORMAT, MANIFEST, SIGNATURE, BundleError, Manifest, parse
from hosted.images.pack import profile_files
from hosted.images.rewrite import referenced_paths, rewrite_sources
from hosted.model import Environment
from hosted.redact import redact, redact_url

SUFFIX = ".bundle"
__all__ = ["FORMAT", "MANIFEST", "SIGNATURE", "BundleError", "BundleSummary", "OpenedBundle", "is_bundle",
           "open_bundle", "unpack_bundle", "write_bundle"]


@dataclass(frozen=True)
class BundleSummary:
    """What a bundle written by `hosted bundle` holds."""
    path: Path
    environment: str
    images: tuple[tuple[str, str], ...]  # (name, sha256)
    files: tuple[str, ...]  # other files, relative to the profile
    skipped: tuple[str, ...]  # referenced paths outside the profile's directory (not bundled)
    bytes: int
    signed: bool = False


def is_bundle(path: Path) -> bool:
    """A ``.bundle`` file, or any tar that is not YAML by name (checked before a profile is read)."""
    if path.suffix == SUFFIX:
        return True
    return path.is_file() and path.suffix not in (".yaml", ".yml") and tarfile.is_tarfile(path)


def write_bundle(env: Environment, output: Path, emit: Emit = discard, *,
                 sign_key: Path | None = None) -> BundleSummary:
    """Fetch the profile's images (from the cache when there) and write the bundle to ``output``;
    with ``sign_key``, signed with that OpenSSH key (see ``hosted.images.signing``).

    Takes the loaded profile (the profile package opens bundles, so it is the
    one that imports this module, not the other way round)."""
    from hosted.images.cache import fetch  # downloads: HTTP and TLS, only to write a bundle

    locals_ = [fetch(image, emit) for image in env.images]
    base = Path(env.path).parent
    sources = {li.name: f"../images/{li.sha256}/{li.path.name}" for li in locals_}
    inside, skipped = referenced_paths(env)
    for outside in skipped:
        emit(Event("warning", f"{outside} is outside the profile's directory: not in the bundle "
                              "(it must exist where the bundle is used)"))
    files = profile_files(base, inside, emit)
    boxes = {i.name: i.box for i in env.images if i.box is not None}
    profile_bytes = rewrite_sources(Path(env.path).read_text(encoding="utf-8"), env.path, sources,
                                    boxes).encode()
    members = [(f.source, f"profile/{f.name}") for f in files]
    manifest: dict[str, Any] = {
        "hosted_bundle": FORMAT, "environment": env.name, "profile": f"profile/{Path(env.path).name}",
        "profile_sha256": hashlib.sha256(profile_bytes).hexdigest(),
        "images": [{"name": li.name, "sha256": li.sha256, "kind": li.kind, "source": _shown(li.source),
                    "path": sources[li.name].removeprefix("../")} for li in locals_],
        "files": [{"path": name, "sha256": digest.sha256_file(path)} for path, name in members],
    }
    members += [(li.path, sources[li.name].removeprefix("../")) for li in locals_]
    raw = redact(json.dumps(manifest, indent=1), env.secrets).encode()
    signature = None
    if sign_key is not None:
        from hosted.images.signing import sign_data

        signature = sign_data(raw, sign_key)
    _write_tar(output, raw, signature, manifest["profile"], profile_bytes, members, emit)
    return BundleSummary(output, env.name, tuple((li.name, li.sha256) for li in locals_),
                         tuple(f.name for f in files), tuple(map(str, skipped)),
                         output.stat().st_size, signature is not None)


def _shown(source: str) -> str:
    """An image's source as the manifest records it: a URL without its tokens, a path's file name."""
    return redact_url(source) if "://" in source else Path(source).name


def _write_tar(output: Path, manifest: bytes, signature: bytes | None, profile_name: str,
               profile_bytes: bytes, members: list[tuple[Path, str]], emit: Emit) -> None:
    """The manifest first (read without scanning the whole tar), its signature, then the rest."""
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".tmp", dir=output.parent)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as out, \
                tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
            add_bytes(tar, MANIFEST, manifest)
            if signature is not None:
                add_bytes(tar, SIGNATURE, signature)
            add_bytes(tar, profile_name, profile_bytes)
            for path, arcname in members:
                if arcname.startswith("images/"):
                    emit(Event("info", f"adding {arcname}"))
                _add_path(tar, path, arcname)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o644 & ~umask)  # a bundle is made to be handed out
        files.replace(tmp, output)
    except OSError as exc:
        raise ImageError(f"cannot write the bundle {output}: {exc.strerror or exc} ({exc.filename or tmp})",
                         f"Check free space and permissions in {output.parent}, and that "
                         f"{output} is not a directory.") from None
    finally:
        tmp.unlink(missing_ok=True)


def add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, fileobj=io.BytesIO(data))


def _add_path(tar: tarfile.TarFile, path: Path, arcname: str) -> None:
    """A regular file, or a directory's regular files (an image directory): never a link or device."""
    if not path.is_dir():
        with open(path, "rb") as fh:
            tar.addfile(tar.gettarinfo(arcname=arcname, fileobj=fh), fh)
        return
    for directory, dirs, names in os.walk(path, followlinks=False):
        dirs.sort()
        for name in sorted(names):
            full = Path(directory, name)
            if not stat.S_ISREG(os.lstat(full).st_mode):
                raise ImageError(f"{full} is not a regular file: a bundle holds plain files only",
                                 f"Remove it from {path}, or copy the image without links.")
            _add_path(tar, full, f"{arcname}/{full.relative_to(path).as_posix()}")


@dataclass(frozen=True)
class OpenedBundle:
    """A bundle extracted and verified: where its profile is, and who vouches for it."""

    bundle: Path
    profile: Path  # the extracted profile (load it with hosted.profile.load_profile)
    environment: str
    signed: bool  # it carries a signature (good or not checked)
    signer: str | None = None  # the allowed signer whose good signature it carries; None: nobody's


def open_bundle(path: Path, emit: Emit = discard, *, allowed_signers: Path | None = None,
                check: Callable[[Path], object] | None = None) -> Path:
    """Extract ``path`` (once), verify every checksum, and return the extracted profile's path.

    With ``allowed_signers``, the manifest's OpenSSH signature must verify
    first (``hosted.images.signing``; an unsigned bundle is UnsignedBundle):
    the very manifest that is then checked against the contents.  ``check``
    (the profile loader) is called with the extracted profile before the
    extraction is kept: a bundle whose profile is refused leaves nothing behind."""
    return unpack_bundle(path, emit, allowed_signers=allowed_signers, check=check,
                         unsigned_ok=False).profile


def unpack_bundle(path: Path, emit: Emit = discard, *, allowed_signers: Path | None = None,
                  check: Callable[[Path], object] | None = None, unsigned_ok: bool = True) -> OpenedBundle:
    """``open_bundle``, saying who signed: with ``allowed_signers`` a signature must be good
    (BadSignature if not), and an unsigned bundle (``unsigned_ok``) opens with ``signer`` None,
    for the caller to ask about (``hosted.images.trust.require_trust``)."""
    raw, signature = _head(path)
    manifest = parse(raw, str(path))
    signer = None
    if allowed_signers is not None and (signature is not None or not unsigned_ok):
        from hosted.images.signing import verify_signature

        signer = verify_signature(path, raw, signature, allowed_signers)
    target = _unpack(path, manifest, emit, check)
    return OpenedBundle(path, target / manifest.profile.path, manifest.environment, signature is not None,
                        signer)


def _unpack(path: Path, manifest: Manifest, emit: Emit, check: Callable[[Path], object] | None) -> Path:
    """The directory the bundle is extracted to, named by its manifest's digest (extracted once)."""
    target = paths.cache_dir() / "bundles" / hashlib.sha256(manifest.raw).hexdigest()[:32]
    try:
        if not target.is_dir():
            _extract_once(path, manifest, target, emit, check)
        else:
            verify(target, manifest, path, remember=True)  # cheap: digests remembered by path and stat stamp
    except OSError as exc:
        raise store.os_error(exc, f"extract the bundle {path}") from None
    return target


def read_manifest(path: Path, allowed_signers: Path | None = None) -> Manifest:
    """The bundle's manifest, checked field by field (and its signature, with ``allowed_signers``)."""
    raw, signature = _head(path)
    manifest = parse(raw, str(path))
    if allowed_signers is not None:
        from hosted.images.signing import verify_signature

        manifest = replace(manifest, signer=verify_signature(path, raw, signature, allowed_signers))
    return manifest


def _head(path: Path) -> tuple[bytes, bytes | None]:
    """The manifest's bytes and the signature's (None: unsigned), from the first two entries."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise BundleError(f"{path} is not a regular file", "Give the path of the bundle file itself.")
        with tarfile.open(path, "r:*") as tar:
            first = tar.next()  # the manifest comes first: no scan through the images
            if first is None or first.name != MANIFEST or not first.isfile():
                raise BundleError(f"{path} is not a hosted bundle (no {MANIFEST} at its start)",
                                  "Make bundles with `hosted bundle -f PROFILE -o FILE.bundle`.")
            from hosted.images.manifest import MAX_MANIFEST_BYTES

            if first.size > MAX_MANIFEST_BYTES:
                raise BundleError(f"{path}: its manifest is larger than {MAX_MANIFEST_BYTES} bytes", ALTERED)
            raw = _read(tar, first)
            second = tar.next()
            signature = _read(tar, second) if second is not None and second.name == SIGNATURE \
                and second.isfile() and second.size <= 64 * 1024 else None
    except (OSError, tarfile.TarError, EOFError) as exc:
        why = "not a tar archive" if isinstance(exc, tarfile.ReadError) and "opened" in str(exc) \
            else (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise BundleError(f"{path} is not a hosted bundle ({why})",
                          "Make bundles with `hosted bundle -f PROFILE -o FILE.bundle`.") from None
    return raw, signature


def _read(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    handle = tar.extractfile(member)
    return handle.read() if handle is not None else b""


def _extract_once(path: Path, manifest: Manifest, target: Path, emit: Emit,
                  check: Callable[[Path], object] | None) -> None:
    """Into a temporary directory renamed to ``target``: a half extraction never looks complete.

    Every entry is checked against the manifest before any directory is made,
    and a bundle refused later (a checksum, its profile) leaves nothing behind."""
    try:
        with checked_tar(path, refuse_unsafe=True, allowed=manifest.member_problem,
                         skip=frozenset((MANIFEST, SIGNATURE))) as checked, _made_dirs(target.parent):
            work = Path(tempfile.mkdtemp(prefix=".extract-", dir=target.parent))
            try:
                emit(Event("info", f"extracting bundle {path.name}"))
                checked.extract(work)
                verify(work, manifest, path, remember=False)
                if check is not None:
                    check(work / manifest.profile.path)
                try:
                    files.rename(work, target)
                except OSError:
                    if not target.is_dir():
                        raise
            finally:
                shutil.rmtree(work, ignore_errors=True)
    except UnsafeArchive as exc:
        raise BundleError(exc.message, exc.hint) from None
    except UnreadableArchive as exc:  # truncated or damaged: invalid input, not a failed run
        raise BundleError(exc.message, "The bundle is truncated or damaged: copy it again, or "
                          "ask for it again.") from None


@contextlib.contextmanager
def _made_dirs(directory: Path) -> Iterator[None]:
    """Create ``directory`` (and its missing parents); remove those again, if empty, on failure."""
    missing = [d for d in (directory, *directory.parents) if not d.exists()]
    directory.mkdir(parents=True, exist_ok=True)
    try:
        yield
    except BaseException:
        for made in missing:  # deepest first
            with contextlib.suppress(OSError):
                made.rmdir()
        raise


def verify(root: Path, manifest: Manifest, bundle: Path, *, remember: bool) -> None:
    """Every image, file and the profile match the manifest; BundleError (naming ``bundle``)
    with both digests if not.

    Only paths inside ``root`` are read (``manifest.parse`` confined them).
    ``remember`` uses (and fills) the cache of digests by path and stat stamp."""
    for item in manifest.items:
        target = root / item.path
        if not target.exists() or target.is_symlink():
            raise BundleError(f"{bundle}: the bundle lacks {item.what} ({item.path})",
                              "The bundle is incomplete: copy it again or make it again.")
        got = digest.sha256_of(target) if remember else digest.sha256_uncached(target)
        if got != item.sha256:
            raise BundleError(
                f"{bundle}: {item.what} is corrupt: sha256 expected {item.sha256}, got {got} "
                "(nothing was used)",
                "Copy the bundle again (the copy may be damaged), or make it again with `hosted bundle`.")
