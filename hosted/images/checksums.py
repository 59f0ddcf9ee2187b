"""``sha256: file:URL``: an image's expected digest, read from its publisher's checksum file.

Distributions publish a ``SHA256SUMS`` beside their images and replace images
under the same URL (Ubuntu's ``current/``), so a digest pasted into a profile
goes stale.  Like Packer's ``file:`` checksums, the profile can name the
checksum file instead: it is read when the image is fetched, the line for the
image's file name gives the digest, and the download is verified against it
as against a pasted one.

Both formats ``sha256sum`` writes are read: ``<digest>  <name>`` (or
``<digest> *<name>``) and the tagged ``SHA256 (<name>) = <digest>``; other
lines (comments, a PGP clear-signature, other algorithms) are skipped.  The
digest found is remembered per checksum file and name, so an image already in
the cache stays usable when the checksum file cannot be reached (offline).
"""

from __future__ import annotations

import difflib
import json
import re
import time
import urllib.error
import urllib.request
from dataclasses import replace
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import unquote, urlsplit

from hosted.errors import ImageError
from hosted.events import Emit, Event
from hosted.images import store
from hosted.images.download import opener
from hosted.model import ImageSpec, is_url

PREFIX = "file:"
MAX_BYTES = 4 * 1024 * 1024  # checksum files are a few kB; a page this large is not one
TIMEOUT = 30.0
_HEX = re.compile(r"[0-9a-fA-F]{64}")
_PLAIN = re.compile(r"(?P<digest>[0-9a-fA-F]+) [ *](?P<name>.+)")
_TAGGED = re.compile(r"(?P<algo>[A-Za-z0-9-]+) ?\((?P<name>.+)\) ?= ?(?P<digest>[0-9a-fA-F]+)")


def pinned(image: ImageSpec, emit: Emit) -> ImageSpec:
    """``image`` with its ``sha256`` filled from its checksum file (unchanged when it has a digest)."""
    if image.sha256 is not None or image.sha256_file is None:
        return image
    return replace(image, sha256=expected_digest(image, emit))


def expected_digest(image: ImageSpec, emit: Emit) -> str:
    """The digest ``image.sha256_file`` lists for the image's file name; ImageError if none."""
    location = image.sha256_file or ""
    name = file_name(image.source)
    try:
        text = _read(location)
    except _Unreachable as exc:
        known = remembered(image)
        if known is None:
            raise _unreachable(image, location, str(exc)) from None
        emit(Event("warning", f"image {image.name}: cannot read its checksum file {location} ({exc}); "
                              f"using the sha256 it listed before, {known[:12]}"))
        return known
    digest = lookup(parse(text), name, image, location)
    _remember(location, name, digest)
    emit(Event("info", f"image {image.name}: sha256 {digest[:12]} from {location}"))
    return digest


def parse(text: str) -> dict[str, str]:
    """File name -> sha256 (lower case) for every sha256 line of a checksum file."""
    found: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        escaped = line.startswith("\\")  # sha256sum escapes names holding '\\' or a newline
        if escaped:
            line = line[1:]
        plain, tagged = _PLAIN.fullmatch(line), _TAGGED.fullmatch(line)
        if tagged and tagged.group("algo").upper() not in ("SHA256", "SHA2-256"):
            continue
        match = plain or tagged
        if match is None or not _HEX.fullmatch(match.group("digest")):
            continue  # a comment, a signature line, or another algorithm's digest
        name = match.group("name")
        if escaped:
            name = name.replace("\\n", "\n").replace("\\\\", "\\")
        found.setdefault(name.removeprefix("./"), match.group("digest").lower())
    return found


def lookup(entries: dict[str, str], name: str, image: ImageSpec, location: str) -> str:
    """The digest for ``name``: listed as it is, or as the last part of exactly one listed path."""
    if not entries:
        raise ImageError(f"image {image.name!r}: {location} lists no sha256 digests",
                         "Point `sha256: file:` at the publisher's SHA256SUMS (not SHA512SUMS or a "
                         "web page), or paste the image's sha256 instead.")
    if name in entries:
        return entries[name]
    by_base = {digest for listed, digest in entries.items() if listed.rsplit("/", 1)[-1] == name}
    if len(by_base) == 1:
        return by_base.pop()
    close = difflib.get_close_matches(name, list(entries), n=3, cutoff=0.6)
    _missing(image, name, location, close, ambiguous=len(by_base) > 1)


def _missing(image: ImageSpec, name: str, location: str, close: list[str], ambiguous: bool) -> NoReturn:
    if ambiguous:
        raise ImageError(f"image {image.name!r}: {location} lists {name} more than once, with "
                         "different digests", "Paste the image's sha256 into the profile instead.")
    hint = f"Listed names like it: {', '.join(close)}. " if close else ""
    raise ImageError(
        f"image {image.name!r}: {location} has no entry for {name}",
        hint + "The image's `source:` and its `sha256: file:` must come from the same release "
        "directory; check both URLs (the checksum file names the image's file name).")


def file_name(source: str) -> str:
    """The name a checksum file lists the image under: the last part of its URL or path."""
    if is_url(source):
        return unquote(urlsplit(source).path.rsplit("/", 1)[-1])
    return Path(source).name


class _Unreachable(Exception):
    """The checksum file could not be read for a reason that may pass (network, timeout)."""


def _read(location: str) -> str:
    if is_url(location):
        data = _download(location)
    else:
        try:
            with open(location, "rb") as fh:
                data = fh.read(MAX_BYTES + 1)
        except OSError as exc:
            raise ImageError(f"cannot read the checksum file {location}: {exc.strerror or exc}",
                             "Check the path after `sha256: file:` (relative to the profile).") from None
    if len(data) > MAX_BYTES:
        raise ImageError(f"{location} is larger than {MAX_BYTES // (1024 * 1024)} MiB: not a checksum file",
                         "Point `sha256: file:` at the publisher's SHA256SUMS file.")
    return data.decode("utf-8", errors="replace")


def _download(url: str) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": "hosted (python urllib)",
                                                   "Accept-Encoding": "identity"})
    try:
        with opener().open(request, timeout=TIMEOUT) as response:
            data: bytes = response.read(MAX_BYTES + 1)
            return data
    except urllib.error.HTTPError as exc:
        err = ImageError(f"cannot read the checksum file {url}: HTTP {exc.code} {exc.reason}",
                         "Check the URL after `sha256: file:`; open it in a browser to see what "
                         "the server says.")
        err.retryable = exc.code >= 500 or exc.code == 429
        raise err from None
    except urllib.error.URLError as exc:
        raise _Unreachable(str(exc.reason)) from None
    except OSError as exc:  # a timeout or a connection cut mid-answer
        raise _Unreachable(str(exc) or type(exc).__name__) from None


def _unreachable(image: ImageSpec, location: str, reason: str) -> ImageError:
    err = ImageError(f"image {image.name!r}: cannot read its checksum file {location}: {reason}",
                     "Check the network connection; offline, use a bundle made with `hosted bundle` "
                     "where there is a network.")
    err.retryable = True
    return err


def _record() -> Path:
    return store.images_root() / "checksum-files.json"


def remembered(image: ImageSpec) -> str | None:
    """The digest the image's checksum file listed when it was last read, if it was."""
    if image.sha256_file is None:
        return None
    try:
        data: Any = json.loads(_record().read_text(encoding="utf-8"))
        digest = data[image.sha256_file][file_name(image.source)]["sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return digest if isinstance(digest, str) and _HEX.fullmatch(digest) else None


def _remember(location: str, name: str, digest: str) -> None:
    def add(data: dict[str, Any]) -> dict[str, Any]:
        names = data.get(location)
        names = dict(names) if isinstance(names, dict) else {}
        names[name] = {"sha256": digest, "read": time.time()}
        return {**data, location: names}

    store.update_json(_record(), add)
