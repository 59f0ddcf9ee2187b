"""Installer ISOs for tests, made with pycdlib in a few milliseconds.

``write_debian_netinst`` lays out what VirtualBox's unattended install reads
on a Debian netinst ISO: ``.disk/info`` (detection, UnattendedImpl.cpp reads
its first line: name, version, ``"Codename"``, `` - ``, architecture), and the
isolinux boot menu its Debian installer rewrites (``isolinux/isolinux.cfg``,
which includes ``menu.cfg`` -> ``txt.cfg`` with an ``install`` label booting
``/install.amd/vmlinuz``).  The kernel and initrd are placeholders: nothing
boots the installer to completion in the sandbox (guest code is interpreted).

``detect`` is the memory double's stand-in for VirtualBox's detection.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pycdlib

from hosted.backend.base import UnattendedInfo
from hosted.errors import ImageError

DEBIAN_INFO = 'Debian GNU/Linux 12.5.0 "Bookworm" - Official amd64 NETINST with firmware 20240210-11:28'
ISOLINUX_CFG = ("# D-I config version 2.0\npath \ninclude menu.cfg\ndefault vesamenu.c32\n"
                "prompt 0\ntimeout 0\n")
MENU_CFG = "menu hshift 4\nmenu width 70\ninclude txt.cfg\n"
TXT_CFG = ("default install\nlabel install\n\tmenu label ^Install\n\tkernel /install.amd/vmlinuz\n"
           "\tappend vga=788 initrd=/install.amd/initrd.gz --- quiet \n")


def write_iso(path: Path, files: dict[str, bytes], label: str = "CDROM") -> Path:
    """An ISO 9660 image with Joliet and Rock Ridge names holding ``files`` ("dir/name" -> bytes)."""
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=3, joliet=3, rock_ridge="1.09", vol_ident=label)
    made: set[str] = set()
    for name, data in files.items():
        parts = name.strip("/").split("/")
        for depth in range(1, len(parts)):
            folder = "/".join(parts[:depth])
            if folder not in made:
                iso.add_directory(_iso9660(folder), rr_name=parts[depth - 1], joliet_path="/" + folder)
                made.add(folder)
        iso.add_fp(io.BytesIO(data), len(data), _iso9660(name) + ".;1", rr_name=parts[-1],
                   joliet_path="/" + "/".join(parts))
    path.parent.mkdir(parents=True, exist_ok=True)
    iso.write(str(path))
    iso.close()
    return path


def _iso9660(name: str) -> str:
    return "/" + "/".join(re.sub(r"[^A-Z0-9_]", "_", p.upper())[:8] or "_" for p in name.split("/"))


def write_debian_netinst(path: Path, info: str = DEBIAN_INFO) -> Path:
    return write_iso(path, {
        ".disk/info": info.encode(),
        "isolinux/isolinux.cfg": ISOLINUX_CFG.encode(),
        "isolinux/menu.cfg": MENU_CFG.encode(),
        "isolinux/txt.cfg": TXT_CFG.encode(),
        "install.amd/vmlinuz": b"placeholder kernel\n",
        "install.amd/initrd.gz": b"placeholder initrd\n",
    }, label="Debian 12 amd64")


def write_unknown_iso(path: Path) -> Path:
    """An ISO no installer detection recognises."""
    return write_iso(path, {"README.txt": b"just files\n"}, label="DATA")


def read_file(iso_bytes: bytes, name: str) -> bytes:
    iso = pycdlib.PyCdlib()
    iso.open_fp(io.BytesIO(iso_bytes))
    try:
        out = io.BytesIO()
        iso.get_file_from_iso_fp(out, joliet_path="/" + name.strip("/"))
        return out.getvalue()
    finally:
        iso.close()


def detect(path: Path) -> UnattendedInfo:
    """Debian or Ubuntu from ``.disk/info`` as VirtualBox reads it; ImageError for anything else."""
    try:
        first = read_file(path.read_bytes(), ".disk/info").decode(errors="replace").splitlines()[0]
    except (OSError, pycdlib.pycdlibexception.PyCdlibException, IndexError):
        first = ""
    match = re.match(r"(Debian|Ubuntu)\D*(\d+)?", first)
    if match is None:
        raise ImageError(f"VirtualBox does not recognise the OS on {path}: it cannot install it unattended",
                         "use a Debian or Ubuntu installer ISO")
    distro, major = match.group(1), match.group(2) or ""
    os_type = f"{distro}{major}_64" if distro == "Debian" and major in ("10", "11", "12", "13") else \
        f"{distro}_64"
    version = first[match.start(2):].split(" - ")[0] if major else ""
    return UnattendedInfo(os_type, version, distro)
