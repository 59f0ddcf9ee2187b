"""sha256 of image files and directories, remembered by path and stat stamp.

Hashing a multi-gigabyte box takes seconds; a second ``fetch`` of the same
unchanged file must be instant, so each file's digest is kept in the cache's
``hashes.json`` keyed by its absolute path and checked against its *stamp*:
size, modification time, inode and status-change time.  Rewriting a file in
place changes its ctime, which no one but root can set back, so a file altered
to keep its size and mtime is still hashed again.  A directory (an unpacked box, e.g. in Vagrant's box store)
has a *tree digest*: the sha256 of ``"<file sha256>  <relative path>\\n"`` lines
of its files in sorted order, the same as ``sha256sum`` of each file, sorted.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

from hosted.images import store

CHUNK = 1024 * 1024
Progress = Callable[[int, int], None]  # (bytes done, bytes in all)


def sha256_file(path: Path, progress: Progress | None = None, done: int = 0, total: int = 0) -> str:
    h = hashlib.sha256()
    total = total or path.stat().st_size
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
            done += len(chunk)
            if progress is not None:
                progress(done, total)
    return h.hexdigest()


def sha256_of(path: Path, progress: Progress | None = None) -> str:
    """The digest of a file, or the tree digest of a directory; cached by path and stamp."""
    return _digest(path, progress, _cached)


def sha256_uncached(path: Path) -> str:
    """Like ``sha256_of``, reading every byte and remembering nothing (for untrusted files)."""
    return _digest(path, None, lambda file, progress, done, total: sha256_file(file))


def stamp(path: Path) -> list[int]:
    """What changes whenever the file's content may have: size, mtime, inode, ctime."""
    st = path.stat()
    return [st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns]


def _digest(path: Path, progress: Progress | None,
            one: Callable[[Path, Progress | None, int, int], str]) -> str:
    if not path.is_dir():
        return one(path, progress, 0, 0)
    files = sorted((p for p in path.rglob("*") if p.is_file()), key=lambda p: p.relative_to(path).as_posix())
    total = sum(p.stat().st_size for p in files)
    done = 0
    lines = []
    for file in files:
        lines.append(f"{one(file, progress, done, total)}  {file.relative_to(path).as_posix()}\n")
        done += file.stat().st_size
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def _cached(path: Path, progress: Progress | None, done: int = 0, total: int = 0) -> str:
    key = str(path.absolute())
    now = stamp(path)
    hit = _remembered(path, _load(), now)
    if hit is not None:
        return hit
    digest = sha256_file(path, progress, done, total or now[0])  # not under the lock: slow

    def add(known: dict[str, object]) -> dict[str, object]:
        return {**known, key: [*now, digest]}

    store.update_json(_index(), add)
    return digest


def known(path: Path) -> str | None:
    """The digest ``sha256_of`` would return, if it needs no reading of the image (every
    file hashed before and unchanged since); None otherwise, or when the path is gone."""
    try:
        if not path.is_dir():
            return _remembered(path, _load())
        files = sorted((p for p in path.rglob("*") if p.is_file()),
                       key=lambda p: p.relative_to(path).as_posix())
        index = _load()
        lines = []
        for file in files:
            digest = _remembered(file, index)
            if digest is None:
                return None
            lines.append(f"{digest}  {file.relative_to(path).as_posix()}\n")
        return hashlib.sha256("".join(lines).encode()).hexdigest()
    except OSError:
        return None


def _remembered(path: Path, index: dict[str, object], now: list[int] | None = None) -> str | None:
    """The digest remembered for ``path`` if its stamp (``stamp``) is unchanged."""
    hit = index.get(str(path.absolute()))
    if isinstance(hit, list) and hit[:-1] == (now or stamp(path)) and isinstance(hit[-1], str):
        return hit[-1]
    return None


def _index() -> Path:
    return store.images_root() / "hashes.json"


def _load() -> dict[str, object]:
    try:
        data = json.loads(_index().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def forget_missing() -> int:
    """Drop remembered digests of files that no longer exist; how many were dropped."""
    dropped = 0

    def keep_existing(known: dict[str, object]) -> dict[str, object]:
        nonlocal dropped
        kept = {k: v for k, v in known.items() if os.path.exists(k)}
        dropped = len(known) - len(kept)
        return kept

    store.update_json(_index(), keep_existing)
    return dropped
