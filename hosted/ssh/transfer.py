"""File copy without SFTP (the test guest's dropbear has no sftp-server).

Upload: a file goes through ``cat`` into a temporary name, gets its mode, then
is renamed into place; a directory goes as a tar stream into ``tar -x``
(busybox tar and GNU tar both restore the modes in the archive when run as
root).  Download: the guest sends a tar stream of the file or directory
(``tar -c``), which the host unpacks itself.  Only POSIX sh, mkdir, cat, chmod,
mv and tar are needed on the guest.
"""

from __future__ import annotations

import os
import posixpath
import shlex
import stat
import tarfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import BinaryIO

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


# Download: the guest sends a one-line header ("f" for a file, "d" for a
# directory) and then a tar stream; the host unpacks only regular files and
# directories, confined to the destination, with permission bits only.

def download_command(remote: str) -> str:
    """The remote shell command that sends ``remote`` (file or directory) on stdout."""
    q = shlex.quote(remote)
    parent, name = shlex.quote(posixpath.dirname(remote) or "."), shlex.quote(posixpath.basename(remote))
    return (f"if [ -d {q} ]; then echo d; exec tar -c -f - -C {q} .; "
            f"elif [ -e {q} ]; then echo f; exec tar -c -h -f - -C {parent} -- {name}; "
            f"else echo {shlex.quote(remote + ': no such file or directory')} >&2; exit 2; fi")


def local_destination(remote: str, local: Path) -> Path:
    """``local`` that is a directory (or ends in a separator) means "into it, same name"."""
    if str(local).endswith(("/", os.sep)) or local.is_dir():
        return local / posixpath.basename(remote.rstrip("/"))
    return local


def unpack(spool: BinaryIO, remote: str, local: Path) -> Path:
    """Write what ``download_command`` sent (in ``spool``, at its start) to ``local``; the path written."""
    header = spool.readline().strip()
    with tarfile.open(fileobj=spool, mode="r|") as tar:
        if header == b"d":
            local.mkdir(parents=True, exist_ok=True)
            for member in tar:
                _extract(tar, member, local)
            return local
        if header != b"f":
            raise ValueError(f"unexpected reply from the guest: {header[:40]!r}")
        target = local_destination(remote, local)
        first = tar.next()
        if first is None or not first.isfile():
            raise ValueError(f"{remote} is not a regular file")
        _write_file(tar, first, target)
        return target


def _extract(tar: tarfile.TarFile, member: tarfile.TarInfo, root: Path) -> None:
    parts = [p for p in PurePosixPath(member.name).parts if p not in (".", "")]
    if not parts:
        return  # the directory itself
    if PurePosixPath(member.name).is_absolute() or ".." in parts:
        raise ValueError(f"refusing a path outside the destination: {member.name!r}")
    path = root.joinpath(*parts)
    if member.isdir():
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(stat.S_IMODE(member.mode) | stat.S_IRWXU)
    elif member.isfile():
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_file(tar, member, path)
    # Links, devices and fifos are not copied: they could point outside the destination.


def _write_file(tar: tarfile.TarFile, member: tarfile.TarInfo, path: Path) -> None:
    source = tar.extractfile(member)
    if source is None:
        raise ValueError(f"cannot read {member.name!r} from the guest's archive")
    tmp = path.with_name(path.name + ".hosted-download")
    with open(tmp, "wb") as fh:
        while chunk := source.read(CHUNK):
            fh.write(chunk)
    tmp.chmod(stat.S_IMODE(member.mode) & 0o777)
    os.replace(tmp, path)
