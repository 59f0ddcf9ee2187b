"""Extracting a tar (a box, an OVA, a bundle): plain files and directories only, inside the target.

A link, a device or a path outside the target (absolute, or with ``..``) is
never extracted; Python's ``data`` filter, where there is one, checks again.
"""

from __future__ import annotations

import tarfile
from pathlib import Path
from typing import Any

from hosted.errors import ImageError

_FILTER: dict[str, Any] = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}


def extract_tar(archive: Path, into: Path, *, refuse_unsafe: bool) -> None:
    """Extract ``archive`` into ``into``; an unsafe entry is skipped, or refused (ImageError)
    with ``refuse_unsafe`` (hosted's own bundles hold none: such an entry means an altered file)."""
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = []
            for member in tar.getmembers():
                if _safe(member):
                    members.append(member)
                elif refuse_unsafe:
                    raise ImageError(f"{archive}: unsafe entry {member.name!r}",
                                     "It was not made by hosted, or was altered: do not use it.")
            tar.extractall(into, members=members, **_FILTER)
    except (tarfile.TarError, EOFError) as exc:
        raise ImageError(f"{archive} is not a readable archive ({exc})",
                         "The file may be truncated or corrupt: fetch or copy it again.") from None
    except OSError as exc:
        name = Path(exc.filename) if exc.filename else into
        where = name.relative_to(into) if name.is_relative_to(into) else name
        raise ImageError(f"cannot extract {where} from {archive}: {exc.strerror or exc}",
                         f"Check free space in {into.parent}; an archive not made by hosted "
                         "may hold entries that clash.") from None


def _safe(member: tarfile.TarInfo) -> bool:
    name = member.name
    return (member.isfile() or member.isdir()) and not name.startswith(("/", "\\")) \
        and ".." not in Path(name).parts
