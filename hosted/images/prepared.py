"""An image fetched, verified and unpacked: what a template is imported from, or an
installer ISO a machine installs from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

PreparedKind = Literal["ovf", "disk", "iso"]


@dataclass(frozen=True)
class PreparedImage:
    """An image in the cache, ready to be imported, attached or booted."""
    # "ovf": an .ovf (disks beside it) or an .ova; "disk": one disk image; "iso": an installer
    kind: PreparedKind
    path: str  # absolute path of the .ovf/.ova, the disk image or the ISO
    digest: str  # sha256 hex of the image as cached
    arch: str | None = None  # CPU architecture read from the image; None = unknown
    os_type: str = ""  # VirtualBox OS type id, when the image says (disk images)
