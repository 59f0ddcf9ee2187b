"""What an image file is, from its content (the name is only a tie-breaker).

Kinds: ``box`` (a Vagrant box: tar or compressed tar with ``metadata.json``
and an OVF, or such a directory), ``ova`` (a tar holding an OVF and its
disks), ``ovf`` (an OVF descriptor with its disks beside it, or a directory
holding one), ``disk`` (VDI, VMDK, VHD) and ``iso`` (an installer).
"""

from __future__ import annotations

import tarfile
from pathlib import Path
from typing import Literal

from hosted.errors import ImageError

Kind = Literal["box", "ova", "ovf", "disk", "iso"]
KINDS: tuple[Kind, ...] = ("box", "ova", "ovf", "disk", "iso")

_COMPRESSED = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00")
_VDI_SIGNATURE = b"\x7f\x10\xda\xbe"
_ISO_OFFSET = 0x8001


def detect(path: Path, declared: str = "auto") -> Kind:
    """The kind of the image at ``path``; ImageError if it is none, or not the ``declared`` one."""
    kind = _directory_kind(path) if path.is_dir() else _file_kind(path)
    if declared not in ("auto", kind):
        raise ImageError(f"{path} is declared `kind: {declared}` but it is {_DESCRIPTION[kind]}",
                         "Fix the image's `kind:`, or leave it out to detect the kind from the file.")
    return kind


_DESCRIPTION = {
    "box": "a Vagrant box", "ova": "an OVA archive", "ovf": "an OVF descriptor",
    "disk": "a disk image", "iso": "an ISO image",
}


def _directory_kind(path: Path) -> Kind:
    ovfs = list(path.glob("*.ovf"))
    if (path / "metadata.json").is_file() and ovfs:
        return "box"
    if len(ovfs) == 1:
        return "ovf"
    raise ImageError(
        f"{path} is a directory without {'one' if not ovfs else 'a single'} OVF descriptor",
        "A directory source must be an unpacked Vagrant box (box.ovf, disks and metadata.json, as in "
        "~/.vagrant.d/boxes/NAME/VERSION/virtualbox/) or hold exactly one .ovf with its disks.")


def _file_kind(path: Path) -> Kind:
    with open(path, "rb") as fh:
        head = fh.read(_ISO_OFFSET + 8)
        fh.seek(0, 2)
        size = fh.tell()
        fh.seek(max(0, size - 512))
        tail = fh.read(512)
    if head.startswith(_COMPRESSED) or head[257:262] == b"ustar":
        return _archive_kind(path)
    if head[64:68] == _VDI_SIGNATURE or head[:4] == b"KDMV" or b"# Disk DescriptorFile" in head[:1024] \
            or head[:8] == b"conectix" or tail[:8] == b"conectix":
        return "disk"
    if head[_ISO_OFFSET:_ISO_OFFSET + 5] == b"CD001":
        return "iso"
    text = head[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"<") and b"Envelope" in head:
        return "ovf"
    if head[:4] == b"QFI\xfb":
        raise ImageError(f"{path} is a qcow2 disk image, which VirtualBox does not use",
                         "Convert it: `qemu-img convert -O vdi IMAGE.qcow2 IMAGE.vdi` (or use the "
                         "distribution's .vmdk / .ova cloud image).")
    raise ImageError(f"{path} is not an image hosted knows",
                     "Use a Vagrant box (.box), an .ova, an .ovf with its disks, a .vdi/.vmdk/.vhd disk "
                     "or an installer .iso.")


def _archive_kind(path: Path) -> Kind:
    """box or ova: a box has metadata.json (Vagrant's); both carry an OVF."""
    try:
        with tarfile.open(path, "r:*") as tar:
            names = [m.name.lstrip("./") for m in tar.getmembers() if m.isfile()]
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise ImageError(f"{path} is not a readable archive ({exc})",
                         "The file may be truncated or corrupt: fetch it again.") from None
    has_ovf = any(n.lower().endswith(".ovf") for n in names)
    if "metadata.json" in names:
        return "box"
    if has_ovf:
        return "ova"
    raise ImageError(f"{path} is an archive without an OVF descriptor",
                     "A box needs box.ovf and metadata.json (VirtualBox provider); an .ova needs an .ovf.")
