"""hosted.flock: the file lock behind the environment's, the ports' and the image cache's locks,
tested across real processes (issue 11: flock without importing the filelock library)."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from hosted import flock
from hosted.flock import FileLock

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="flock is the Unix side")

HOLD = """\
import sys, time
from pathlib import Path
from hosted.flock import FileLock
lock = FileLock(Path(sys.argv[1]))
assert lock.acquire()
print("held", flush=True)
time.sleep(60)
"""

TRY = """\
import sys
from pathlib import Path
from hosted.flock import FileLock
print(FileLock(Path(sys.argv[1])).acquire(blocking=False))
"""


def other_process_gets(path: Path) -> bool:
    out = subprocess.run([sys.executable, "-c", TRY, str(path)], capture_output=True, text=True,
                         encoding="utf-8", check=True, timeout=60).stdout
    return out.strip() == "True"


def test_another_process_sees_it_held_until_it_is_released(tmp_path: Path) -> None:
    path = tmp_path / "env.lock"
    lock = FileLock(path)
    assert lock.acquire(blocking=False)
    assert not other_process_gets(path)
    lock.release()
    assert other_process_gets(path)
    assert path.exists() and path.stat().st_mode & 0o777 == 0o600  # kept, private


def test_the_filelock_library_in_another_process_sees_it_held(tmp_path: Path) -> None:
    """An older hosted (filelock's lock, flock too) and this one exclude each other."""
    path = tmp_path / "env.lock"
    lock = FileLock(path)
    assert lock.acquire()
    code = ("import sys, filelock\ntry:\n    filelock.FileLock(sys.argv[1]).acquire(timeout=0)\n"
            "except filelock.Timeout:\n    print('busy')\nelse:\n    print('free')")
    run = [sys.executable, "-c", code, str(path)]
    assert subprocess.run(run, capture_output=True, text=True, check=True).stdout.strip() == "busy"
    lock.release()
    assert subprocess.run(run, capture_output=True, text=True, check=True).stdout.strip() == "free"


def test_a_process_killed_holding_it_releases_it(tmp_path: Path) -> None:
    path = tmp_path / "env.lock"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert not FileLock(path).acquire(blocking=False)
    finally:
        holder.kill()  # only the process this test started, by its PID
        holder.wait(timeout=30)
    assert FileLock(path).acquire(blocking=False)


def test_a_blocking_acquire_waits_for_the_release(tmp_path: Path) -> None:
    path = tmp_path / "env.lock"
    first, second = FileLock(path), FileLock(path)  # two descriptors: flock holds them apart
    assert first.acquire()
    got = threading.Event()
    waiter = threading.Thread(target=lambda: (second.acquire(), got.set()))
    waiter.start()
    assert not got.wait(0.3)
    first.release()
    assert got.wait(30)
    waiter.join()
    assert not first.acquire(blocking=False)
    second.release()


def test_a_symlink_in_its_place_is_never_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious")
    (tmp_path / "env.lock").symlink_to(victim)
    with pytest.raises(OSError):
        FileLock(tmp_path / "env.lock").acquire()
    assert victim.read_text() == "precious"


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd" if Path("/proc/self/fd").is_dir() else "/dev/fd"))


def test_interrupted_while_waiting_it_leaves_no_descriptor_open(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import fcntl

    def interrupted(fd: int, operation: int) -> None:
        raise KeyboardInterrupt

    before = open_descriptors()
    monkeypatch.setattr(fcntl, "flock", interrupted)
    with pytest.raises(KeyboardInterrupt):
        FileLock(tmp_path / "env.lock").acquire()
    assert open_descriptors() == before


def test_without_flock_it_is_the_filelock_librarys_lock(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A mount without flock (ENOSYS): the library's lock, which falls back to its own there."""
    import fcntl

    real = fcntl.flock
    refused: list[int] = []

    def no_flock(fd: int, operation: int) -> None:
        if not refused:
            refused.append(fd)
            raise OSError(errno.ENOSYS, "Function not implemented")
        real(fd, operation)

    monkeypatch.setattr(fcntl, "flock", no_flock)
    path = tmp_path / "env.lock"
    lock = FileLock(path)
    assert lock.acquire()
    assert refused and lock._library is not None
    assert not other_process_gets(path)  # the library's lock is a flock where flock works again
    lock.release()
    assert other_process_gets(path)


def test_on_windows_it_is_the_filelock_librarys_lock(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """LockFileEx through the library: the hand-written Windows lock it replaced never unlocked."""
    monkeypatch.setattr(flock.sys, "platform", "win32")
    lock = FileLock(tmp_path / "env.lock")
    assert lock.acquire(blocking=False)
    assert lock._fd is None and lock._library is not None and lock._library.is_locked
    lock.release()
    assert not lock._library.is_locked
    started = time.monotonic()
    assert lock.acquire(blocking=False) and time.monotonic() - started < 5
    lock.release()
