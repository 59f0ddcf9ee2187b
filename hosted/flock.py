"""An exclusive lock on a file, between processes: the environment's, the ports' and the image cache's.

On Linux and macOS it is ``flock`` on a descriptor of the file, opened 0600 and never
through a symbolic link: the system drops it when the process dies, however it dies,
and the file is kept on release (deleting it while another process waits would let a
third lock a new file of the same name).  On Windows, and on a file system that has
no ``flock`` (ENOSYS, EOPNOTSUPP: some FUSE and network mounts), it is the
``filelock`` library's (LockFileEx there, its soft lock here), as it was everywhere
before: importing that library costs a command 13 to 22 ms, more than everything
else its lock takes, and every command that changes an environment takes one
(bench/README.md, eighth round).  The two are the same lock on Unix: ``filelock``
also uses ``flock``, so an older hosted holding a lock still excludes this one.
"""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path
from typing import Any

NO_FLOCK = frozenset({errno.ENOSYS, errno.EOPNOTSUPP, getattr(errno, "ENOTSUP", errno.EOPNOTSUPP)})
OPEN_FLAGS = (os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
              | getattr(os, "O_NONBLOCK", 0))  # a FIFO in its place cannot hang the open


class FileLock:
    """One holder at a time of ``path``, across processes (and across descriptors of one process:
    hosted queues its own threads on a thread lock first)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._library: Any = None  # filelock's lock, where flock is not the answer

    def acquire(self, blocking: bool = True) -> bool:
        """Take the lock and return True; with ``blocking=False``, False when someone holds it.
        OSError when the file cannot be opened: a symlink, a directory or a FIFO in its place."""
        if self._library is not None or sys.platform == "win32":
            return self._acquire_library(blocking)
        import fcntl

        fd = os.open(self.path, OPEN_FLAGS, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if blocking else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except OSError as exc:
            os.close(fd)
            if exc.errno not in NO_FLOCK:
                raise
            return self._acquire_library(blocking)
        except BaseException:  # interrupted (Ctrl-C) while waiting: no descriptor left open
            os.close(fd)
            raise
        self._fd = fd
        return True

    def release(self) -> None:
        """Let the next holder in (closing the descriptor releases the flock)."""
        if self._library is not None:
            self._library.release()
        elif self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)

    def _acquire_library(self, blocking: bool) -> bool:
        from filelock import FileLock as Library
        from filelock import Timeout

        if self._library is None:
            self._library = Library(self.path, mode=0o600)  # never through a symlink either
        try:
            self._library.acquire(timeout=-1 if blocking else 0)
        except Timeout:
            return False
        return True
