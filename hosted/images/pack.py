"""What ``hosted bundle`` packs from the profile's directory, and what it leaves out.

Only regular files whose real path lies inside the profile's directory go in:
a symlink is followed only when its target is inside too (and then packed as
the file it points to), and links out of the directory, FIFOs, sockets and
devices are left out with a warning.  A file that looks like a private key is
packed (the profile refers to it) with a warning that everyone who gets the
bundle gets the key.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from hosted.events import Emit, Event

_KEY_MARKERS = (b"PRIVATE KEY-----", b"PuTTY-User-Key-File")


@dataclass(frozen=True)
class Packed:
    """One file that goes into a bundle: where it is read from and its name in the bundle."""
    source: Path  # the file to read (a symlink's target inside the directory)
    name: str  # its path relative to the profile's directory, with '/'


def profile_files(base: Path, paths: Iterable[Path], emit: Emit) -> list[Packed]:
    """The files of ``paths`` (files or directories under ``base``) that go into a bundle."""
    root = Path(os.path.realpath(base))
    found: dict[str, Packed] = {}
    for path in paths:
        for packed in _walk(root, base, path, emit):
            found.setdefault(packed.name, packed)
    for packed in found.values():
        if _looks_like_private_key(packed.source):
            emit(Event("warning", f"{packed.name} looks like a private key: everyone who gets the bundle "
                                  "gets it too (use a key made for the guests, or leave it out)"))
    return list(found.values())


def _walk(root: Path, base: Path, path: Path, emit: Emit) -> Iterator[Packed]:
    real = Path(os.path.realpath(path))
    if not real.is_relative_to(root):
        emit(Event("warning", f"{path} leads outside the profile's directory (a symbolic link to {real}): "
                              "not in the bundle"))
        return
    if real.is_dir():
        yield from _tree(root, base, path, emit)
    else:
        yield from _one(root, base, path, emit)


def _tree(root: Path, base: Path, top: Path, emit: Emit) -> Iterator[Packed]:
    for directory, dirs, files in os.walk(top, followlinks=False):
        for name in sorted(dirs):
            if os.path.islink(os.path.join(directory, name)):
                emit(Event("warning", f"{Path(directory, name)} is a link to a directory: not in the bundle"))
        dirs[:] = sorted(d for d in dirs if not os.path.islink(os.path.join(directory, d)))
        for name in sorted(files):
            yield from _one(root, base, Path(directory, name), emit)


def _one(root: Path, base: Path, path: Path, emit: Emit) -> Iterator[Packed]:
    real = Path(os.path.realpath(path))
    relative = path.relative_to(base).as_posix()
    if not real.is_relative_to(root):
        emit(Event("warning", f"{path} is a link to {real}, outside the profile's directory: "
                              "not in the bundle"))
        return
    try:
        mode = os.stat(real).st_mode
    except OSError as exc:
        emit(Event("warning", f"{path}: {exc.strerror or exc}: not in the bundle"))
        return
    if not stat.S_ISREG(mode):
        emit(Event("warning", f"{path} is not a regular file (a FIFO, socket or device): not in the bundle"))
        return
    if not relative.isprintable() or "\\" in relative:
        emit(Event("warning", f"{relative!r} has characters a bundle cannot hold in a name: "
                              "not in the bundle"))
        return
    yield Packed(real, relative)


def _looks_like_private_key(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError:
        return False
    return any(marker in head for marker in _KEY_MARKERS)
