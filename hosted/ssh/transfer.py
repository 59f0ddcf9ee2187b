"""File copy without SFTP (the test guest's dropbear has no sftp-server).

A file goes through ``cat`` into a temporary name, gets its mode, then is
renamed into place; a directory goes as a tar stream into ``tar -x``
(busybox tar and GNU tar both restore the modes in the archive when run as
root).  Only POSIX sh, mkdir, cat, chmod, mv and tar are needed on the guest.
"""

from __future__ import annotations

import os
import posixpath
import shlex
import stat
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


def file_command(local: Path, remote: str) -> str:
    """The remote shell command that receives one file on stdin."""
    mode = stat.S_IMODE(local.stat().st_mode)
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
                    filter=_owned_by_root)


def _owned_by_root(info: tarfile.TarInfo) -> tarfile.TarInfo:
    # The host user's uid means nothing in the guest; as root, tar would
    # otherwise restore it.  Unprivileged extraction ignores owners anyway.
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def is_directory(local: Path) -> bool:
    return os.path.isdir(local)
