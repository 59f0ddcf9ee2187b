"""Extracting a tar (a box, an OVA, a bundle): plain files and directories only, inside the target.

A link, a device or a path outside the target (absolute, or with ``..``) is
never extracted; Python's ``data`` filter, where there is one,
checks again.  Before anything is written, the archive's unpacked size is
checked against the free space and against the archive's own size (at most
``MAX_RATIO`` times larger, with a floor of ``MIN_ALLOWANCE``): a 10 kB tar
that unpacks to 8 GB (a sparse file's real size counts) is a bomb, not an image.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hosted.errors import EXIT_INVALID, ImageError

_FILTER: dict[str, Any] = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
MAX_MEMBERS = 100_000
MAX_RATIO = 100  # unpacked bytes per byte of archive (disk images in a .box compress 2-10x)
MIN_ALLOWANCE = 64 * 1024 * 1024


class UnsafeArchive(ImageError):
    """An archive that is not what hosted makes or reads: refused before anything is extracted."""

    exit_code = EXIT_INVALID


class UnreadableArchive(ImageError):
    """A file that is not a readable archive: truncated or damaged (a download is fetched again)."""


def extract_tar(archive: Path, into: Path, *, refuse_unsafe: bool,
                allowed: Callable[[tarfile.TarInfo], str | None] | None = None,
                skip: frozenset[str] = frozenset()) -> None:
    """Extract ``archive`` into ``into``; an unsafe entry is skipped, or refused (UnsafeArchive)
    with ``refuse_unsafe`` (hosted's own bundles hold none: such an entry means an altered file).

    ``allowed`` says why a (safe) entry is not wanted, or None; an unwanted entry is refused.
    Entries named in ``skip`` (once each) are left in the archive.
    """
    with checked_tar(archive, refuse_unsafe=refuse_unsafe, allowed=allowed, skip=skip) as checked:
        checked.extract(into)


@dataclass
class Checked:
    """An open archive whose every entry was checked: ``extract`` writes the chosen ones."""

    archive: Path
    tar: tarfile.TarFile
    members: list[tarfile.TarInfo]

    def extract(self, into: Path) -> None:
        """Into ``into`` (free space checked first)."""
        check_size(self.archive, into, self.members)
        try:
            self.tar.extractall(into, members=self.members, **_FILTER)
        except OSError as exc:
            name = Path(exc.filename) if exc.filename else into
            where = name.relative_to(into) if name.is_relative_to(into) else name
            raise ImageError(f"cannot extract {where} from {self.archive}: {exc.strerror or exc}",
                             f"Check free space in {into.parent}; an archive not made by hosted "
                             "may hold entries that clash.") from None


@contextlib.contextmanager
def checked_tar(archive: Path, *, refuse_unsafe: bool,
                allowed: Callable[[tarfile.TarInfo], str | None] | None = None,
                skip: frozenset[str] = frozenset()) -> Iterator[Checked]:
    """``archive`` open, its index read and every entry checked (as ``extract_tar`` does) before
    the caller makes anything on disk: a refused archive leaves not even a directory behind."""
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = select(tar, archive, refuse_unsafe, allowed, skip)
            check_ratio(archive, members)
            yield Checked(archive, tar, members)
    except (tarfile.TarError, EOFError) as exc:
        raise UnreadableArchive(f"{archive} is not a readable archive ({_first_line(exc)})",
                                "The file may be truncated or corrupt: fetch or copy it again.") from None


def select(tar: tarfile.TarFile, archive: Path, refuse_unsafe: bool,
           allowed: Callable[[tarfile.TarInfo], str | None] | None = None,
           skip: frozenset[str] = frozenset()) -> list[tarfile.TarInfo]:
    """The entries to extract (reads the whole index); UnsafeArchive for one that must not be."""
    members: list[tarfile.TarInfo] = []
    seen: set[str] = set()
    for member in tar:
        if member.name in skip and member.name not in seen and member.isfile():
            seen.add(member.name)
            continue
        if len(members) >= MAX_MEMBERS:
            raise UnsafeArchive(f"{archive} holds more than {MAX_MEMBERS} entries",
                                "It was not made by hosted, or was altered: do not use it.")
        why = unsafe(member)
        if why is None and allowed is not None:
            why = allowed(member)
        if why is None and member.name in seen:
            why = "appears twice"
        if why is None:
            members.append(member)
            seen.add(member.name)
        elif refuse_unsafe:
            raise UnsafeArchive(f"{archive}: refusing the entry {member.name[:200]!r}: {why}",
                                "It was not made by hosted, or was altered: do not use it.")
    return members


def unsafe(member: tarfile.TarInfo) -> str | None:
    """Why ``member`` must never be extracted (None: it may be)."""
    name = member.name
    if not (member.isfile() or member.isdir()):
        return "not a plain file or directory (a link or a device)"
    if not name or name.startswith(("/", "\\")) or ".." in Path(name).parts or "\\" in name \
            or (len(name) > 1 and name[1] == ":"):
        return "a path outside the archive"
    if not name.isprintable():
        return "a name with control characters"
    return None


def check_ratio(archive: Path, members: list[tarfile.TarInfo]) -> None:
    """Refuse what unpacks to far more than the archive's size (a bomb)."""
    total = sum(m.size for m in members if m.isfile())
    packed = os.stat(archive).st_size
    if total > max(packed * MAX_RATIO, MIN_ALLOWANCE):
        raise UnsafeArchive(f"{archive} unpacks to {_size(total)} from {_size(packed)}: refused as an "
                            "archive bomb", "It was not made by hosted or a box tool: do not use it.")


def check_size(archive: Path, into: Path, members: list[tarfile.TarInfo]) -> None:
    """Refuse what unpacks to far more than the archive's size, or to more than the free space."""
    check_ratio(archive, members)
    total = sum(m.size for m in members if m.isfile())
    where = into if into.exists() else into.parent
    while not where.exists() and where != where.parent:
        where = where.parent
    free = shutil.disk_usage(where).free
    if total > free:
        raise ImageError(f"{archive} unpacks to {_size(total)}, but {where} has only {_size(free)} free",
                         f"Free space in {where} (`hosted images prune` removes unused images).")


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0].rstrip(":") if lines else type(exc).__name__


def _size(n: int) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e9 else f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.1f} kB"
