"""Host ports for ``host: auto`` forwards, chosen under a host-wide lock.

Two hosted runs (or two threads of one) must never pick the same port.  A
port is free when no VirtualBox machine forwards from it (the caller passes
those, powered-off machines included), nobody listens on it, and no other run
reserved it in the last few minutes.  The lock is held from choosing the port
until it is written to the reservations file; the reservation covers the short
time until VirtualBox has saved the forward.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Collection, Iterator
from pathlib import Path

from hosted.errors import OperationFailed

DEFAULT_RANGE = (2200, 2999)
RESERVATION_SECONDS = 600.0
_thread_lock = threading.Lock()


def default_state_dir() -> Path:
    """Host-wide (not per-user-home) so that every run of this user shares it."""
    base = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(base) / f"hosted-{uid}"


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with _thread_lock, open(path, "a+") as fh:
        try:
            import fcntl

            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        except ImportError:  # Windows
            import msvcrt

            msvcrt.locking(fh.fileno(), msvcrt.LK_LOCK, 1)  # type: ignore[attr-defined]
        yield


def port_is_listening(host_ip: str, port: int, protocol: str = "tcp") -> bool:
    """True when something on this host already holds ``host_ip:port`` for ``protocol``.

    IPv6 addresses bind an IPv6 socket; SO_REUSEADDR (POSIX) lets a port that
    only has connections in TIME_WAIT count as free, while a real listener
    still makes the bind fail.
    """
    family = socket.AF_INET6 if ":" in host_ip else socket.AF_INET
    kind = socket.SOCK_DGRAM if protocol == "udp" else socket.SOCK_STREAM
    with socket.socket(family, kind) as s:
        if os.name == "posix":
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host_ip or ("::" if family == socket.AF_INET6 else "0.0.0.0"), port))
        except OSError:
            return True
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
            data = json.loads(self._reservations.read_text())
        except (OSError, ValueError):
            return {}
        now = self._now()
        return {k: v for k, v in data.items() if isinstance(v, int | float) and now - v < RESERVATION_SECONDS}

    def allocate(self, host_ip: str, taken: Collection[int], protocol: str = "tcp") -> int:
        """Pick a free ``protocol`` port for ``host_ip`` that is not in ``taken`` and reserve it."""
        with _file_lock(self.state_dir / "ports.lock"):
            reserved = self._load()
            lo, hi = self.port_range
            for port in range(lo, hi + 1):
                if port in taken or str(port) in reserved or port_is_listening(host_ip, port, protocol):
                    continue
                reserved[str(port)] = self._now()
                tmp = self._reservations.with_suffix(".tmp")
                tmp.write_text(json.dumps(reserved))
                os.replace(tmp, self._reservations)
                return port
        raise OperationFailed(
            f"no free host port in {lo}-{hi} for an automatic forward",
            "free some ports, or give the forward an explicit host port",
        )
