"""The image cache on disk: content-addressed entries and what is known about them.

Layout under ``paths.cache_dir()/images``::

    sha256/<digest>/meta.json     source (a URL without its tokens), name, kind, size, stamp, added, last used
    sha256/<digest>/<file>        a downloaded image (absent for a local path source)
    sha256/<digest>/unpacked/     a box or OVA unpacked once (see ``sources``)
    downloads/<digest>.partial    an interrupted download, resumed by the next fetch
    hashes.json                   path -> (size, mtime, sha256) of local files already hashed

The directory name is the sha256 of the image, so an entry is never trusted
under another name.  Every write goes through a temporary file of its own and a
rename: a crash leaves the old file or the new one, never half of one.  Updates
(read, change, write) hold a lock (``locked``): threads and processes fetch at once.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from hosted import files, paths
from hosted.errors import ImageError
from hosted.images import locks

META = "meta.json"
UNPACKED = "unpacked"


def images_root() -> Path:
    return paths.cache_dir() / "images"


def entry_dir(digest: str) -> Path:
    return images_root() / "sha256" / digest


def partial_path(digest: str) -> Path:
    return images_root() / "downloads" / f"{digest}.partial"


@dataclass(frozen=True)
class Entry:
    """What the cache knows about one image, by its sha256."""

    sha256: str
    source: str  # the URL it came from, or the local path it was hashed at
    name: str = ""  # the profile's image name when it was last fetched
    kind: str = ""  # detected kind ("" until detected)
    file: str = ""  # the image file's name inside the entry ("" for a local path source)
    size: int = 0  # bytes of the image file
    added: float = 0.0
    last_used: float = 0.0
    # The file's stat stamp (size, mtime, inode, ctime) when its sha256 was last verified:
    # another stamp means the file may have changed, so it is hashed again before use.
    stamp: tuple[int, ...] = ()

    @property
    def directory(self) -> Path:
        return entry_dir(self.sha256)

    @property
    def path(self) -> Path:
        """The image itself: the cached file, or the local path it was hashed at."""
        return self.directory / self.file if self.file else Path(self.source)

    def stored_bytes(self) -> int:
        """Disk space the entry takes in the cache (downloaded file and unpacked files)."""
        return _tree_size(self.directory)


def read(digest: str) -> Entry | None:
    try:
        data: dict[str, Any] = json.loads((entry_dir(digest) / META).read_text(encoding="utf-8"))
        entry = Entry(**{k: v for k, v in data.items() if k in Entry.__dataclass_fields__})
        return replace(entry, stamp=tuple(entry.stamp))
    except (OSError, ValueError, TypeError, AttributeError):
        return None


def write(entry: Entry) -> Entry:
    entry.directory.mkdir(parents=True, exist_ok=True)
    write_json(entry.directory / META, asdict(entry))
    return entry


def record(digest: str, **changes: Any) -> Entry:
    """Create or update the entry for ``digest``; ``last_used`` becomes now."""
    with locked(f"meta-{digest}"):
        now = time.time()
        old = read(digest) or Entry(sha256=digest, source="", added=now)
        return write(replace(old, last_used=now, **changes))


def entries() -> Iterator[Entry]:
    root = images_root() / "sha256"
    if not root.is_dir():
        return
    for directory in sorted(root.iterdir()):
        entry = read(directory.name)
        if entry is not None:
            yield entry
        elif directory.is_dir():  # an entry without meta (a crash while adding): unusable
            yield Entry(sha256=directory.name, source="")


def remove(digest: str) -> None:
    shutil.rmtree(entry_dir(digest), ignore_errors=True)


def locked(name: str, waiting: Callable[[], None] | None = None) -> contextlib.AbstractContextManager[None]:
    """The cache's lock called ``name``, for this process's threads and other processes."""
    return locks.held(images_root() / "locks" / f"{name}.lock", waiting)


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(data, indent=1, sort_keys=True))
        files.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def update_json(path: Path, change: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    """Read the JSON object at ``path`` ({} if none), ``change`` it and write it, under its lock."""
    with locked(path.name):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        write_json(path, change(data if isinstance(data, dict) else {}))


def os_error(exc: OSError, doing: str) -> ImageError:
    """An ImageError for a file system that refused, naming the path and where to look."""
    path = Path(exc.filename) if exc.filename else images_root()
    where = f"the image cache ({images_root()})" if path.is_relative_to(images_root()) else str(path)
    return ImageError(f"cannot {doing}: {exc.strerror or exc} ({path})",
                      f"Check free space and permissions of {where}.")


def _tree_size(path: Path) -> int:
    total = 0
    for root, _, names in os.walk(path):
        for name in names:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_size
    return total
