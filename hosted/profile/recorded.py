"""What loading a profile read from outside its own bytes, for ``hosted.profile.compiled``.

A validated profile depends on more than the file: the ``${VAR}``s it looked up,
the files it included, and the host paths it checked (a shared folder that must
be a directory, a script that must be a file, a path that must not resolve into
``~/.ssh``).  While a :func:`recording` is active, the places that read these
note what they saw, so a cached result can be trusted only while all of it is
still the same.  Outside a recording nothing is kept.  This module imports only
the standard library: the cache checks a hit with it before anything heavy loads.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field


@dataclass
class Reads:
    """Everything a load looked at besides the profile's bytes."""

    environ: dict[str, str | None] = field(default_factory=dict)  # ${NAME} -> raw value (None: unset)
    paths: dict[str, str] = field(default_factory=dict)  # path checked -> its kind (see ``kind_of``)
    realpaths: dict[str, str] = field(default_factory=dict)  # path -> what its symlinks resolved to
    files: dict[str, str] = field(default_factory=dict)  # included file -> sha256 of the bytes read


_CURRENT: ContextVar[Reads | None] = ContextVar("hosted_profile_reads", default=None)


@contextmanager
def recording() -> Iterator[Reads]:
    """Note every read below into a fresh ``Reads``."""
    reads = Reads()
    token = _CURRENT.set(reads)
    try:
        yield reads
    finally:
        _CURRENT.reset(token)


def note_environ(looked_up: Mapping[str, str | None]) -> None:
    """The variables a substitution looked up, with the raw values it saw."""
    reads = _CURRENT.get()
    if reads is not None:
        for name, value in looked_up.items():
            reads.environ.setdefault(name, value)


def note_file(path: str, raw: bytes) -> None:
    """An included file, by the digest of the bytes that were parsed."""
    reads = _CURRENT.get()
    if reads is not None:
        reads.files[path] = digest(raw)


def kind_of(path: str | os.PathLike[str]) -> str:
    """``missing``, ``dir``, ``file`` or ``other`` (a device, a FIFO, a socket), symlinks
    followed; a path that cannot be looked at is ``missing``, as pathlib's exists() says (3.12
    and later); noted in the current recording."""
    kind = current_kind(path)
    reads = _CURRENT.get()
    if reads is not None:
        reads.paths[os.fspath(path)] = kind
    return kind


def current_kind(path: str | os.PathLike[str]) -> str:
    """``kind_of`` without noting it."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):  # ValueError: an embedded NUL
        return "missing"
    return "dir" if stat.S_ISDIR(mode) else "file" if stat.S_ISREG(mode) else "other"


def realpath(path: str) -> str:
    """``os.path.realpath(path)``, noted in the current recording."""
    real = os.path.realpath(path)
    reads = _CURRENT.get()
    if reads is not None:
        reads.realpaths[path] = real
    return real


def digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()
