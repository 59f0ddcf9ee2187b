"""Locks for the image cache: by name within this process, and on a file between processes.

Threads of one ``hosted up`` (one per machine) and two runs at once use the same
cache.  A thread lock comes first, so that threads queue in the process and do
not depend on how the platform's file lock treats two descriptors of one
process; the file lock then orders processes.  Lock files are kept (under
``images/locks``): deleting one while a process holds it would let the next
process lock a new file of the same name.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

_locks: dict[str, threading.Lock] = {}
_guard = threading.Lock()


def thread_lock(name: str) -> threading.Lock:
    """The one lock of this process for ``name``."""
    with _guard:
        return _locks.setdefault(name, threading.Lock())


@contextlib.contextmanager
def held(path: Path) -> Iterator[None]:
    """Hold the thread lock named after ``path`` and an exclusive lock on that file."""
    with thread_lock(str(path)):
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a+b") as fh:  # closing it releases the file lock
            _lock_file(fh.fileno())
            yield


def _lock_file(fd: int) -> None:
    if sys.platform == "win32":
        import msvcrt

        while True:  # LK_LOCK gives up after about 10 seconds; a download takes longer
            try:
                msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
                return
            except OSError:
                continue
    else:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX)
