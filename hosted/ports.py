"""Host ports for ``host: auto`` forwards, chosen under a host-wide lock.

Two hosted runs (or two threads of one) must never pick the same port.  A
port is free when no VirtualBox machine forwards from it (the caller passes
those, powered-off machines included), nobody listens on it, and no other run
reserved it in the last few minutes.  The lock is held from choosing the port
until it is written to the reservations file; the reservation covers the short
time until VirtualBox has saved the forward.

The reservations live in the user's own state directory (``paths.state_dir``:
created 0700, refused when another user owns it); the lock is hosted.flock's,
and the reservations file is replaced through a temporary file of a random
name, so a symlink planted in the directory is never followed.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Collection, Iterator
from pathlib import Path

from hosted import files, paths
from hosted.errors import OperationFailed

DEFAULT_RANGE = (2200, 2999)
RESERVATION_SECONDS = 600.0
_thread_lock = threading.Lock()


def default_state_dir() -> Path:
    """The user's own state directory (never a shared /tmp name): every run of this user shares it."""
    return paths.state_dir()


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """This process's threads queue on a thread lock; processes on the file lock of ``path``."""
    from hosted.flock import FileLock

    paths.private_dir(path.parent)
    with _thread_lock:
        lock = FileLock(path)
        try:
            lock.acquire()
        except OSError as exc:  # a symlink or a directory in the way: never followed
            raise paths.UnsafePath(f"cannot lock {path}: {exc.strerror or exc}",
                                   f"Remove {path}; hosted creates it again.") from None
        try:
            yield
        finally:
            lock.release()


LOOPBACK: dict[int, str] = {socket.AF_INET: "127.0.0.1", socket.AF_INET6: "::1"}
PROBE_TIMEOUT = 0.25  # seconds for a connection to a port on this host


def port_is_listening(host_ip: str, port: int, protocol: str = "tcp") -> bool:
    """True when something on this host already holds ``host_ip:port`` for ``protocol``.

    A bind alone is not enough everywhere: on macOS (and the BSDs) SO_REUSEADDR lets a
    bind to 127.0.0.1 succeed beside a program listening on every address, and Windows
    allows it by default.  So a TCP port also counts as held when a connection to it (where
    a client of the forward would connect) is answered; a UDP port is bound without
    SO_REUSEADDR, which only TCP's TIME_WAIT needs, and off Linux the port on every address
    must be free too.
    """
    family = socket.AF_INET6 if ":" in host_ip else socket.AF_INET
    if _bind_fails(family, host_ip, port, protocol):
        return True
    if protocol == "udp":
        return sys.platform != "linux" and bool(host_ip) and _bind_fails(family, "", port, protocol)
    return _answers(family, host_ip, port)


def _bind_fails(family: int, host_ip: str, port: int, protocol: str) -> bool:
    kind = socket.SOCK_DGRAM if protocol == "udp" else socket.SOCK_STREAM
    with socket.socket(family, kind) as s:
        if os.name == "posix" and protocol != "udp":
            # A port whose connections linger in TIME_WAIT is free; a listener still makes
            # the bind fail (on Linux; elsewhere ``_answers`` finds it).
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host_ip or ("::" if family == socket.AF_INET6 else "0.0.0.0"), port))
        except OSError:
            return True
    return False


def _answers(family: int, host_ip: str, port: int) -> bool:
    """A TCP connection to the port is accepted: something listens there."""
    target = LOOPBACK[family] if host_ip in ("", "0.0.0.0", "::") else host_ip
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(PROBE_TIMEOUT)
        try:
            return s.connect_ex((target, port)) == 0
        except OSError:
            return False


class PortAllocator:
    def __init__(
        self,
        state_dir: Path | None = None,
        port_range: tuple[int, int] = DEFAULT_RANGE,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.state_dir = state_dir or default_state_dir()
        self.port_range = port_range
        self._now = now

    @property
    def _reservations(self) -> Path:
        return self.state_dir / "ports.json"

    def _load(self) -> dict[str, float]:
        try:
            data = json.loads(self._reservations.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict):
            return {}
        now = self._now()
        return {k: v for k, v in data.items() if isinstance(v, int | float) and now - v < RESERVATION_SECONDS}

    def _save(self, reserved: dict[str, float]) -> None:
        # A temporary file of a random name (O_EXCL): a planted `ports.tmp` symlink is never followed.
        fd, tmp = tempfile.mkstemp(prefix=".ports.", suffix=".tmp", dir=self.state_dir)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(json.dumps(reserved))
            files.replace(tmp, self._reservations)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def allocate(self, host_ip: str, taken: Collection[int], protocol: str = "tcp") -> int:
        """Pick a free ``protocol`` port for ``host_ip`` that is not in ``taken`` and reserve it."""
        with _file_lock(self.state_dir / "ports.lock"):
            reserved = self._load()
            lo, hi = self.port_range
            for port in range(lo, hi + 1):
                if port in taken or str(port) in reserved or port_is_listening(host_ip, port, protocol):
                    continue
                reserved[str(port)] = self._now()
                self._save(reserved)
                return port
        raise OperationFailed(
            f"no free host port in {lo}-{hi} for an automatic forward",
            "free some ports, or give the forward an explicit host port",
        )
