"""HTTP(S) downloads that resume, report progress, and hash as they go (standard library only).

The bytes go to ``<digest>.partial``.  A later attempt (in the same fetch, or
the next run) asks for the rest with ``Range: bytes=N-``; a server that ignores
the range answers 200 and the file starts over.  The digest is computed while
writing (after re-reading what an earlier attempt left), so a finished download
is verified without reading it again.

Redirects are followed to http(s) URLs only (never ftp: or file:).  A
download is refused when the server announces more than the free space, and
one without Content-Length stops at ``MAX_UNKNOWN_LENGTH``.  Messages show
URLs without their user info and query (``redact_url``): that is where
download tokens live.
"""

from __future__ import annotations

import functools
import hashlib
import http.client
import re
import shutil
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from hosted.errors import EXIT_INVALID, ImageError
from hosted.events import Emit, Event
from hosted.redact import redact_url

CHUNK = 256 * 1024
TIMEOUT = 30.0  # seconds without a byte before an attempt fails
REPORT_EVERY = 0.25  # seconds between progress events
MAX_UNKNOWN_LENGTH = 64 * 1024**3  # a download whose size the server does not say stops here


class RefusedDownload(ImageError):
    """The server asked for something hosted does not do (a redirect to ftp:, an endless body)."""

    exit_code = EXIT_INVALID


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """urllib follows redirects to ftp: too; an image is fetched over http(s) only."""

    def redirect_request(self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str,
                         headers: Any, newurl: str) -> urllib.request.Request | None:
        if not newurl.lower().startswith(("http://", "https://")) and "://" in newurl:
            raise RefusedDownload(f"{redact_url(req.full_url)} redirects to {redact_url(newurl)}: only "
                                  "http and https are followed", "Give the image's final http(s) URL.")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


@functools.cache
def tls_context() -> ssl.SSLContext:
    """HTTPS verified against the operating system's certificates (macOS' keychain, Windows'
    certificate store, the distribution's CA bundle), through truststore: python.org's macOS
    Python has no certificates of its own until its "Install Certificates" step is run."""
    import truststore

    return truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def opener() -> urllib.request.OpenerDirector:
    """What fetches images and checksum files: http(s) redirects only, the system's certificates."""
    return urllib.request.build_opener(_HttpOnlyRedirects, urllib.request.HTTPSHandler(context=tls_context()))


def _open(request: urllib.request.Request, timeout: float) -> Any:
    return opener().open(request, timeout=timeout)


class _Interrupted(Exception):
    """The connection ended before the whole file arrived (kept, resumable)."""


@dataclass
class _Meter:
    """Turns bytes received into progress events: percent, MB, speed, ETA."""

    label: str
    emit: Emit
    start_bytes: int
    total: int | None
    started: float = 0.0
    last: float = 0.0

    def __post_init__(self) -> None:
        self.started = time.monotonic()
        self.last = float("-inf")  # the first update is always reported

    def update(self, done: int, final: bool = False) -> None:
        now = time.monotonic()
        if not final and now - self.last < REPORT_EVERY:
            return
        self.last = now
        speed = (done - self.start_bytes) / max(now - self.started, 1e-6)
        percent = None if not self.total else min(100.0, 100.0 * done / self.total)
        text = f"downloading {self.label}: {_mb(done)}"
        if self.total:
            text += f" of {_mb(self.total)}"
        text += f", {_mb(int(speed))}/s"
        if self.total and speed > 0 and not final:
            text += f", ETA {_duration((self.total - done) / speed)}"
        self.emit(Event("progress", text, percent=100.0 if final else percent))


def download(url: str, partial: Path, label: str, emit: Emit, *, attempts: int = 3,
             timeout: float = TIMEOUT) -> str:
    """Fetch ``url`` into ``partial`` (resuming what is there); return the file's sha256.

    Raises ImageError (retryable, the partial file kept) when every attempt was cut off.
    """
    partial.parent.mkdir(parents=True, exist_ok=True)
    for attempt in range(1, attempts + 1):
        try:
            return _attempt(url, partial, label, emit, timeout)
        except RefusedDownload:
            partial.unlink(missing_ok=True)
            raise
        except (_Interrupted, OSError, http.client.HTTPException) as exc:
            if isinstance(exc, urllib.error.HTTPError):
                raise _http_error(url, exc) from None
            have = partial.stat().st_size if partial.exists() else 0
            reason = _reason(exc)
            if attempt == attempts:
                raise _gave_up(url, label, partial, reason, have,
                               unreachable=isinstance(exc, urllib.error.URLError)) from None
            emit(Event("warning", f"download of {label} interrupted ({reason}); resuming at {_mb(have)}"))
            time.sleep(min(2.0 ** (attempt - 1), 5.0) * 0.1)
    raise AssertionError("unreachable")


def _attempt(url: str, partial: Path, label: str, emit: Emit, timeout: float) -> str:
    have = partial.stat().st_size if partial.exists() else 0
    headers = {"User-Agent": "hosted (python urllib)", "Accept-Encoding": "identity"}
    if have:
        headers["Range"] = f"bytes={have}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        response = _open(request, timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # nothing after `have`: the file is complete
            return _hash_file(partial)
        raise
    with response:
        have = _resume_point(response, have)
        length = response.headers.get("Content-Length")
        total = have + int(length) if length and length.isdigit() else None
        _check_room(url, partial, total, have)
        if have:
            emit(Event("info", f"resuming the download of {label} at {_mb(have)}"))
        digest = hashlib.sha256()
        if have:
            _hash_into(digest, partial)
        with open(partial, "ab" if have else "wb") as out:
            done = _copy(response, out, digest, _Meter(label, emit, have, total), have)
    if total is not None and done < total:
        raise _Interrupted(f"got {_mb(done)} of {_mb(total)}")
    return digest.hexdigest()


def _resume_point(response: http.client.HTTPResponse, have: int) -> int:
    """Where the body starts: ``have`` for a matching 206, else 0 (start over)."""
    if have and response.status == 206:
        match = re.match(r"bytes (\d+)-", response.headers.get("Content-Range", ""))
        if match and int(match.group(1)) == have:
            return have
    return 0


def _check_room(url: str, partial: Path, total: int | None, have: int) -> None:
    if total is None:
        return
    free = shutil.disk_usage(partial.parent).free
    if total - have > free:
        raise ImageError(f"{redact_url(url)} is {_mb(total)}, but {partial.parent} has only {_mb(free)} free",
                         "Free space there (`hosted images prune` removes unused images).")


def _copy(response: IO[bytes], out: IO[bytes], digest: hashlib._Hash, meter: _Meter, done: int) -> int:
    meter.update(done)
    while True:
        chunk = response.read(CHUNK)
        if not chunk:
            break
        if meter.total is None and done + len(chunk) > MAX_UNKNOWN_LENGTH:
            raise RefusedDownload(f"the download of {meter.label} sends more than {_mb(MAX_UNKNOWN_LENGTH)} "
                                  "without saying its size: stopped",
                                  "Check the image's `source:` URL; the server may be broken or hostile.")
        out.write(chunk)
        digest.update(chunk)
        done += len(chunk)
        meter.update(done)
    out.flush()
    if meter.total is None or done >= meter.total:
        meter.update(done, final=True)
    return done


def _hash_into(digest: hashlib._Hash, path: Path) -> None:
    with open(path, "rb") as fh:
        while chunk := fh.read(1024 * 1024):
            digest.update(chunk)


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    _hash_into(digest, path)
    return digest.hexdigest()


def _gave_up(url: str, label: str, partial: Path, reason: str, have: int, unreachable: bool) -> ImageError:
    if unreachable:
        err = ImageError(f"cannot download {label} from {redact_url(url)}: {reason}",
                         "Check the network connection and the image's `source:` URL; offline, "
                         "use a bundle made with `hosted bundle` where there is a network.")
    else:
        err = ImageError(f"the download of {label} was interrupted ({reason}) after {_mb(have)}",
                         f"Run the command again: it resumes from {_mb(have)} (kept in {partial}).")
    err.retryable = True
    return err


def _http_error(url: str, exc: urllib.error.HTTPError) -> ImageError:
    err = ImageError(f"downloading {redact_url(url)} failed: HTTP {exc.code} {exc.reason}",
                     "Check the image's `source:` URL; open it in a browser to see what the server says.")
    err.retryable = exc.code >= 500 or exc.code == 429
    return err


def _reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.URLError):
        return str(exc.reason)
    return str(exc) or type(exc).__name__


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n / 1e3:.1f} kB"


def _duration(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 \
        else f"{seconds // 60}:{seconds % 60:02d}"
