"""The fingerprint of a provisioning step, recorded on the machine after it ran.

The step's own fingerprint is widened by the content of the files it uses, so
editing a script or a copied file runs a ``run: once`` step again.  Names and
contents count, not file modes: Windows has none to give (every file says 0666),
and the same files must give the same fingerprint on every host.  A machine
rebuilt from scratch has no records and so runs everything again.  Files are
hashed in chunks (a multi-gigabyte ``file:`` source costs no memory); anything
but regular files and directories (a FIFO, /dev/zero, a socket) is refused,
and links to directories are not followed.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path, PureWindowsPath

from hosted.errors import ProvisionError
from hosted.model import AnsibleRun, ProvisionStep

CHUNK = 1024 * 1024


def step_fingerprint(step: ProvisionStep) -> str:
    """The step's own fingerprint plus a digest of its script or source files.

    The files count by their name, not by where they are on this host (C:\\Users\\... or
    /home/...): the same profile gives the same fingerprint on every host.
    """
    portable = replace(step, script=_name(step.script), source=_name(step.source))
    digest = hashlib.sha256(portable.fingerprint().encode())
    for path in (step.script, step.source):
        if path:
            try:
                _hash_tree(Path(path), digest)
            except OSError as exc:
                name = exc.filename if exc.filename is not None else path
                raise ProvisionError(
                    f"provisioning step {step.name!r}: cannot read {name}: {exc.strerror or exc}",
                    "check that the step's files exist and are readable", step=step.name) from exc
    return digest.hexdigest()[:16]


def _name(path: str | None) -> str | None:
    return PureWindowsPath(path).name if path else path  # either separator, from either kind of host
def ansible_fingerprint(run: AnsibleRun) -> str:
    """The run's own fingerprint plus a digest of its playbook file."""
    digest = hashlib.sha256(run.fingerprint().encode())
    try:
        _hash_tree(Path(run.playbook), digest)
    except OSError as exc:
        raise ProvisionError(f"ansible run {run.name!r}: cannot read {run.playbook}: {exc.strerror or exc}",
                             "check that the playbook exists and is readable", step=run.name) from exc
    return digest.hexdigest()[:16]


def _hash_tree(root: Path, digest: hashlib._Hash) -> None:
    for path, name in _files(root):
        with open(path, "rb") as fh:
            st = os.fstat(fh.fileno())
            if not stat.S_ISREG(st.st_mode):  # replaced since it was listed
                raise _not_regular(path)
            digest.update(f"\0{name}\0{st.st_size}\0".encode())
            while chunk := fh.read(CHUNK):
                digest.update(chunk)


def _files(root: Path) -> Iterator[tuple[Path, str]]:
    """Regular files of ``root`` (a file or a directory), sorted, with the name each is hashed under."""
    if not root.is_dir():
        if not root.exists():
            return  # reported when the step runs
        if not root.is_file():
            raise _not_regular(root)
        yield root, root.name
        return
    found: list[tuple[str, Path]] = []
    for directory, _, names in os.walk(root, followlinks=False):
        for name in names:
            path = Path(directory, name)
            if not path.is_file():  # follows a link to a file, as the copy does
                if path.is_symlink() and not path.exists():
                    continue  # a dangling link: the copy skips it too
                raise _not_regular(path)
            found.append((path.relative_to(root).as_posix(), path))
    for name, path in sorted(found, key=lambda item: item[0].split("/")):  # as Path objects sort
        yield path, name


def _not_regular(path: Path) -> OSError:
    return OSError(0, "not a regular file (a FIFO, device or socket is never read)", str(path))
