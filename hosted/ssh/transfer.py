"""File copy without SFTP (the test guest's dropbear has no sftp-server).

A file goes through ``cat`` into a temporary name, gets its mode, then is
renamed into place; a directory goes as a tar stream into ``tar -x``
(busybox tar and GNU tar both restore the modes in the archive when run as
root).  Only POSIX sh, mkdir, cat, chmod, mv and tar are needed on the guest.

The mode is the file's own on Linux and macOS.  Windows has no such bits
(every writable file says 0666): from there a file gets 0644, or 0755 when it
starts with ``#!`` (as Git for Windows' shell decides), and a directory 0755.
"""

from __future__ import annotations

import os
import posixpath
import shlex
import stat
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path

CHUNK = 32 * 1024


class _Sink:
    """A write-only file object over a send function (for tarfile's stream mode)."""

    def __init__(self, send: Callable[[bytes], None]) -> None:
        self._send = send

    def write(self, data: bytes) -> int:
        self._send(bytes(data))
        return len(data)


def _windows() -> bool:
    return sys.platform == "win32"


def guest_mode(local: Path, st: os.stat_result | None = None) -> int:
    """The mode ``local`` gets in the guest (see the module's docstring)."""
    st = st or local.stat()
    if not _windows():
        return stat.S_IMODE(st.st_mode)
    if stat.S_ISDIR(st.st_mode):
        return 0o755
    try:
        with open(local, "rb") as fh:
            script = fh.read(2) == b"#!"
    except OSError:
        script = False
    return 0o755 if script else 0o644


def file_command(local: Path, remote: str) -> str:
    """The remote shell command that receives one file on stdin."""
    mode = guest_mode(local)
    tmp = remote + ".hosted-upload"
    q = shlex.quote
    return (f"set -e; mkdir -p -- {q(posixpath.dirname(remote) or '.')}; "
            f"cat > {q(tmp)}; chmod {mode:04o} {q(tmp)}; mv -f -- {q(tmp)} {q(remote)}")


def directory_command(remote: str) -> str:
    """The remote shell command that unpacks a tar stream on stdin into ``remote``."""
    q = shlex.quote(remote)
    return f"set -e; mkdir -p -- {q}; tar -x -f - -C {q}"


def remote_destination(local: Path, remote: str) -> str:
    """``remote`` ending in '/' means "into that directory, under the same name"."""
    return posixpath.join(remote, local.name) if remote.endswith("/") else remote


def send_file(local: Path, send: Callable[[bytes], None]) -> None:
    with open(local, "rb") as fh:
        while chunk := fh.read(CHUNK):
            send(chunk)


def send_tree(local: Path, send: Callable[[bytes], None]) -> None:
    """Stream the contents of directory ``local`` as an uncompressed tar."""
    with tarfile.open(fileobj=_Sink(send), mode="w|", format=tarfile.PAX_FORMAT) as tar:  # type: ignore[call-overload]
        for path in sorted(local.rglob("*")):
            tar.add(path, arcname=path.relative_to(local).as_posix(), recursive=False,
                    filter=lambda info, path=path: _for_guest(info, path))


def _for_guest(info: tarfile.TarInfo, path: Path) -> tarfile.TarInfo:
    # The host user's uid means nothing in the guest; as root, tar would
    # otherwise restore it.  Unprivileged extraction ignores owners anyway.
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    if _windows() and (info.isfile() or info.isdir()):
        info.mode = guest_mode(path)
    return info


def is_directory(local: Path) -> bool:
    return os.path.isdir(local)
