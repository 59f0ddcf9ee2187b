"""File copy without SFTP (the test guest's dropbear has no sftp-server).

Upload: a file goes through ``cat`` into a temporary name, gets its mode, then
is renamed into place (into the destination, when that is a directory); a
directory goes as a tar stream into ``tar -x`` (busybox tar and GNU tar both
restore the modes in the archive when run as root).  Download: the guest's
``tar -c -h`` sends a file or a directory (symlinks followed, as scp does), and
the stream is unpacked here with tarfile's ``data`` filter, so that nothing the
guest sends lands outside the destination or as a device, a setuid file or a
link leading out.  Only POSIX sh, mkdir, cat, chmod, mv and tar are needed on
the guest.

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
from typing import IO

from hosted.errors import SshError

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
    """The remote shell command that receives one file on stdin (into ``remote`` when that is a
    directory, as cp does)."""
    mode = guest_mode(local)
    q = shlex.quote
    return (f"set -e; d={q(remote)}; if [ -d \"$d\" ]; then d=\"$d\"/{q(local.name)}; fi; "
            f"mkdir -p -- {q(posixpath.dirname(remote) or '.')}; "
            f"cat > \"$d.hosted-upload\"; chmod {mode:04o} \"$d.hosted-upload\"; "
            f"mv -f -- \"$d.hosted-upload\" \"$d\"")


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


def send_command(remote: str) -> tuple[str, str]:
    """The remote command that writes ``remote`` (a file or a directory) to stdout as a tar
    stream, and the name its top member has in the stream ("." for a directory's contents)."""
    path = posixpath.normpath(remote) if remote else "."
    q = shlex.quote
    exists = f"[ -e {q(path)} ] || {{ echo {q(path + ': no such file or directory')} >&2; exit 2; }}; "
    parent, base = posixpath.split(path)
    if base in ("", ".", ".."):  # "/", ".", "..": send the directory's contents
        return f"{exists}cd -- {q(path)} && tar -c -h -f - .", "."
    return f"{exists}cd -- {q(parent or '.')} && tar -c -h -f - {q('./' + base)}", base


def receive(stream: IO[bytes], top: str, local: Path, *, into: bool = False) -> Path:
    """Unpack the tar ``stream`` whose top member is ``top`` (see send_command) to ``local``,
    which is the copy itself, or the directory to put it in with ``into`` (the destination
    was written with a trailing separator) or when it is an existing directory; returns the
    path written."""
    target = local / top if top != "." and (into or is_directory(local)) else local
    if not target.parent.is_dir():
        raise SshError(f"{target.parent}: no such directory", "create it first, or copy somewhere else")
    with tarfile.open(fileobj=stream, mode="r|") as tar:
        for member in tar:
            rel = _relative(member.name, top)
            if member.islnk():
                member.linkname = _relative(member.linkname, top)
            if rel == "":
                _top(tar, member, target)
            else:
                _check_dir(target)
                member.name = rel
                _extract(tar, member, target)
    return target


def _relative(name: str, top: str) -> str:
    """A member's path below the top ("" for the top itself); anything else is refused."""
    name = name.removeprefix("./").rstrip("/")
    top = "" if top == "." else top
    if name in (top, "", "."):
        return ""
    if not top:
        return name
    if name.startswith(top + "/"):
        return name[len(top) + 1:]
    raise SshError(f"the guest sent {name!r}, which is not under {top!r}", "nothing else was written")


def _top(tar: tarfile.TarFile, member: tarfile.TarInfo, target: Path) -> None:
    if member.isdir():
        if target.exists() and not target.is_dir():
            raise SshError(f"{target} exists and is not a directory", "give another destination")
        target.mkdir(exist_ok=True)
        return
    if target.is_dir():
        raise SshError(f"{target} is a directory", "end the destination with / to copy into it")
    member.name = target.name
    _extract(tar, member, target.parent)


def _check_dir(target: Path) -> None:
    if not target.is_dir():
        raise SshError(f"{target} is not a directory", "give another destination")


def _extract(tar: tarfile.TarFile, member: tarfile.TarInfo, where: Path) -> None:
    try:
        tar.extract(member, path=where, filter="data")
    except tarfile.FilterError as exc:
        raise SshError(f"refused {member.name!r} from the guest: {exc}",
                       "only plain files, directories and links inside the copy are taken") from exc
