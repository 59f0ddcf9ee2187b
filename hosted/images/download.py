"""HTTP(S) downloads that resume, report progress, and hash as they go (standard library only).

The bytes go to ``<digest>.partial``.  A later attempt (in the same fetch, or
the next run) asks for the rest with ``Range: bytes=N-``; a server that ignores
the range answers 200 and the file starts over.  The digest is computed while
writing (after re-reading what an earlier attempt left), so a finished download
is verified without reading it again.
"""

from __future__ import annotations

import hashlib
import http.client
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from hosted.errors import ImageError
from hosted.events import Emit, Event

CHUNK = 256 * 1024
TIMEOUT = 30.0  # seconds without a byte before an attempt fails
REPORT_EVERY = 0.25  # seconds between progress events


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
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # nothing after `have`: the file is complete
            return _hash_file(partial)
        raise
    with response:
        have = _resume_point(response, have)
        length = response.headers.get("Content-Length")
        total = have + int(length) if length and length.isdigit() else None
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


def _copy(response: IO[bytes], out: IO[bytes], digest: hashlib._Hash, meter: _Meter, done: int) -> int:
    meter.update(done)
    while True:
        chunk = response.read(CHUNK)
        if not chunk:
            break
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
        err = ImageError(f"cannot download {label} from {url}: {reason}",
                         "Check the network connection and the image's `source:` URL; offline, "
                         "use a bundle made with `hosted bundle` where there is a network.")
    else:
        err = ImageError(f"the download of {label} was interrupted ({reason}) after {_mb(have)}",
                         f"Run the command again: it resumes from {_mb(have)} (kept in {partial}).")
    err.retryable = True
    return err


def _http_error(url: str, exc: urllib.error.HTTPError) -> ImageError:
    err = ImageError(f"downloading {url} failed: HTTP {exc.code} {exc.reason}",
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
