"""Locks for the image cache: by name within this process, and on a file between processes.

Threads of one ``hosted up`` (one per machine) and two runs at once use the same
cache.  A thread lock comes first, so that threads queue in the process and do
not depend on how the platform's file lock treats two descriptors of one
process; the file lock (hosted.flock: flock on Unix, LockFileEx on Windows)
then orders processes.  Lock files are kept (under
``images/locks``): deleting one while a process holds it would let the next
process lock a new file of the same name.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

_locks: dict[str, threading.Lock] = {}
_guard = threading.Lock()


def thread_lock(name: str) -> threading.Lock:
    """The one lock of this process for ``name``."""
    with _guard:
        return _locks.setdefault(name, threading.Lock())


@contextlib.contextmanager
def acquired(lock: threading.Lock, waiting: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold ``lock``; ``waiting`` is called first when someone else holds it (it may raise)."""
    if not lock.acquire(blocking=False):
        if waiting is not None:
            waiting()
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


class Busy(Exception):
    """Someone else holds the lock and the caller would not wait."""


@contextlib.contextmanager
def held(path: Path, waiting: Callable[[], None] | None = None, *, wait: bool = True) -> Iterator[None]:
    """Hold the thread lock named after ``path`` and the exclusive file lock on that file;
    ``waiting`` is called (once) when another thread or process holds it.  ``wait=False``:
    raise Busy instead of waiting.  A process that dies holding the lock releases it (the
    operating system drops a dead process's file locks)."""
    from hosted.flock import FileLock

    told = False

    def tell() -> None:
        nonlocal told
        if not wait:
            raise Busy(str(path))
        if waiting is not None and not told:
            told = True
            waiting()

    with acquired(thread_lock(str(path)), tell):
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(path)  # never through a symlink; the file is kept on release
        if not lock.acquire(blocking=False):
            tell()
            lock.acquire()
        try:
            yield
        finally:
            lock.release()
