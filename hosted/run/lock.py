"""One run per environment: a command that changes an environment holds its lock from
reading the facts to the last step, so two runs never interleave (``up`` with
``destroy``, ``reset`` or ``snapshot``, or two ``up``).  Different environments run in
parallel.

The lock is hosted.flock's (flock on Unix, LockFileEx on Windows) on a file in the
user's private state directory: a process that dies holding it releases it, so a crash
never leaves the environment stuck.  Beside it, a small JSON file names the holder
(command, process id, start time), so the second run can say whom it waits for, and
that a lock taken over was left by a process that is gone.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from hosted import paths
from hosted.errors import HostedError
from hosted.events import Emit, Event
from hosted.images import locks
from hosted.processes import alive


class EnvironmentBusy(HostedError):
    """Another run holds the environment and the caller asked not to wait."""


def lock_path(env_name: str) -> Path:
    return paths.state_dir() / "locks" / f"env-{paths.component(env_name, 'environment')}.lock"


@contextlib.contextmanager
def environment_lock(env_name: str, command: str, emit: Emit, *, wait: bool = True) -> Iterator[None]:
    """Hold environment ``env_name`` for ``command`` (waiting, with a message, while another
    run holds it; with ``wait=False``, EnvironmentBusy at once)."""
    path = lock_path(env_name)
    holder = path.with_suffix(".holder")

    def waiting() -> None:
        emit(Event("info", f"waiting for {_describe(holder)} to finish with environment {env_name!r}"))

    try:
        with locks.held(path, waiting, wait=wait):
            left = _read(holder)
            if left and not alive(left.get("pid")):
                emit(Event("info", f"environment {env_name!r}: {_describe(holder)} ended without "
                                   "finishing; its lock is taken over"))
            _write(holder, command)
            try:
                yield
            finally:
                with contextlib.suppress(OSError):
                    holder.unlink()
    except locks.Busy:
        raise EnvironmentBusy(f"environment {env_name!r} is busy: {_describe(holder)} is working on it",
                              "wait for it to finish, or run again without --no-wait-lock to wait "
                              "for it") from None


def _write(holder: Path, command: str) -> None:
    record = {"command": command, "pid": os.getpid(), "started": time.time(),
              "argv": " ".join(sys.argv[:4])}
    with paths.open_private(holder, "w") as fh:
        fh.write(json.dumps(record))


def _read(holder: Path) -> dict[str, object]:
    try:
        data = json.loads(holder.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _describe(holder: Path) -> str:
    record = _read(holder)
    if not record:
        return "another hosted run"
    since = time.strftime("%H:%M:%S", time.localtime(float(str(record.get("started", 0)))))
    return f"`hosted {record.get('command', '?')}` (process {record.get('pid', '?')}, since {since})"
