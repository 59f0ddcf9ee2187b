"""Reading an OVF descriptor: the files it references, its OS type and CPU architecture.

Elements are matched by local name so that OVF 1.x and 2.x namespaces (and
VirtualBox's own ``vbox:`` section) all read the same.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from hosted.errors import ImageError
from hosted.images.arch import normalize_arch


@dataclass(frozen=True)
class Descriptor:
    """What hosted reads of an OVF descriptor: the files it references, its OS type and architecture."""
    files: tuple[str, ...]  # ovf:href of every <References><File>, as written
    os_type: str | None  # VirtualBox's guest OS type id (vbox:OSType), when the OVF names it
    arch: str | None  # "x86_64" / "arm64" when the OVF says


def read(path: Path) -> Descriptor:
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as exc:
        raise ImageError(f"cannot read the OVF descriptor {path}: {exc}",
                         "The image may be corrupt: fetch it again, or check the file.") from None
    files = tuple(_attr(e, "href") for e in root.iter() if _local(e.tag) == "File" and _attr(e, "href"))
    os_type = None
    platform = None
    for element in root.iter():
        name = _local(element.tag)
        if (name == "OperatingSystemSection" or (name == "Machine" and os_type is None)) and \
                _attr(element, "OSType"):
            os_type = _attr(element, "OSType")
        elif name == "Platform" and _attr(element, "architecture"):
            platform = _attr(element, "architecture")
    return Descriptor(files=files, os_type=os_type, arch=normalize_arch(platform) or _arch_of(os_type))


def _arch_of(os_type: str | None) -> str | None:
    # VirtualBox's OS type ids: "Ubuntu_arm64" on ARM, "Ubuntu_64" / "Ubuntu" on x86.
    if not os_type:
        return None
    if re.search(r"_arm(64|32)?$", os_type, re.IGNORECASE):
        return "arm64"
    return "x86_64"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _attr(element: ET.Element, name: str) -> str:
    for key, value in element.attrib.items():
        if _local(key) == name:
            return value
    return ""
