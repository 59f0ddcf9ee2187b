"""hosted.ports: the allocator for ``host: auto`` forwards."""

from __future__ import annotations

import json
import multiprocessing
import socket
import sys
from pathlib import Path
from typing import Any

import pytest

from hosted.errors import OperationFailed
from hosted.ports import RESERVATION_SECONDS, PortAllocator, port_is_listening


class Clock:
    def __init__(self, t: float = 1_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def _free_range(width: int) -> tuple[int, int]:
    """A range of ports nobody listens on right now, high enough to stay out of others' way."""
    base = 40000 + (multiprocessing.current_process().pid or 0) % 500 * 40
    for lo in range(base, 60000, width):
        if not any(port_is_listening("127.0.0.1", p) for p in range(lo, lo + width)):
            return lo, lo + width - 1
    raise RuntimeError("no free port range")


@pytest.fixture
def span() -> tuple[int, int]:
    return _free_range(8)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def alloc(tmp_path: Path, span: tuple[int, int], clock: Clock) -> PortAllocator:
    return PortAllocator(tmp_path / "state", span, now=clock)


def test_returns_the_first_free_port_in_range(alloc: PortAllocator, span: tuple[int, int]) -> None:
    assert alloc.allocate("127.0.0.1", ()) == span[0]


def test_never_returns_a_taken_port(alloc: PortAllocator, span: tuple[int, int]) -> None:
    lo, hi = span
    taken = {lo, lo + 1, lo + 3}
    got = alloc.allocate("127.0.0.1", taken)
    assert got == lo + 2
    assert lo <= got <= hi


def test_never_returns_a_listening_port(alloc: PortAllocator, span: tuple[int, int]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", span[0]))
        s.listen()
        assert alloc.allocate("127.0.0.1", ()) == span[0] + 1


def test_never_returns_a_reserved_port(alloc: PortAllocator) -> None:
    got = [alloc.allocate("127.0.0.1", ()) for _ in range(4)]
    assert len(set(got)) == 4


def test_reservations_are_shared_through_the_state_dir(
    tmp_path: Path, span: tuple[int, int], clock: Clock
) -> None:
    first = PortAllocator(tmp_path / "state", span, now=clock).allocate("127.0.0.1", ())
    second = PortAllocator(tmp_path / "state", span, now=clock).allocate("127.0.0.1", ())
    assert first != second


def test_reservations_expire(alloc: PortAllocator, clock: Clock) -> None:
    first = alloc.allocate("127.0.0.1", ())
    clock.t += RESERVATION_SECONDS - 1
    assert alloc.allocate("127.0.0.1", ()) != first
    clock.t += 2  # the first reservation is now older than RESERVATION_SECONDS; the second is not
    assert alloc.allocate("127.0.0.1", ()) == first


def test_a_full_range_raises_operation_failed(alloc: PortAllocator, span: tuple[int, int]) -> None:
    lo, hi = span
    with pytest.raises(OperationFailed) as err:
        alloc.allocate("127.0.0.1", range(lo, hi + 1))
    assert err.value.hint


def test_a_corrupt_reservations_file_is_ignored(alloc: PortAllocator, span: tuple[int, int]) -> None:
    alloc.state_dir.mkdir(parents=True)
    (alloc.state_dir / "ports.json").write_text("{not json")
    assert alloc.allocate("127.0.0.1", ()) == span[0]
    assert str(span[0]) in json.loads((alloc.state_dir / "ports.json").read_text())


def _allocate_in_child(state_dir: str, span: tuple[int, int], barrier: Any, out: Any) -> None:
    barrier.wait(30)
    ports = [PortAllocator(Path(state_dir), span).allocate("127.0.0.1", ()) for _ in range(3)]
    out.put(ports)


def test_concurrent_processes_get_distinct_ports(tmp_path: Path) -> None:
    span = _free_range(32)
    mp = multiprocessing.get_context("spawn")
    barrier, out = mp.Barrier(4), mp.Queue()
    procs = [mp.Process(target=_allocate_in_child, args=(str(tmp_path / "state"), span, barrier, out))
             for _ in range(4)]
    for p in procs:
        p.start()
    results = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    ports = [port for r in results for port in r]
    assert len(ports) == 12
    assert len(set(ports)) == 12, f"collision: {results}"


def test_listening_check_follows_the_address_family_and_protocol() -> None:
    import socket

    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s6:
        s6.bind(("::1", 0))
        s6.listen()
        port6 = s6.getsockname()[1]
        assert port_is_listening("::1", port6)
    assert not port_is_listening("::1", port6)  # an IPv6 address is checked, not refused
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        u.bind(("127.0.0.1", 0))
        port = u.getsockname()[1]
        assert port_is_listening("127.0.0.1", port, "udp")
        assert not port_is_listening("127.0.0.1", port, "tcp")


def test_a_port_with_only_time_wait_connections_is_free() -> None:
    import socket

    server = socket.socket()
    # Like VirtualBox NAT's listener (and most servers): Linux lets a new bind
    # reuse a TIME_WAIT port only when the old socket allowed it too.
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    conn, _ = server.accept()
    conn.close()  # the server side closes first: its end of the connection sits in TIME_WAIT
    client.close()
    server.close()
    assert not port_is_listening("127.0.0.1", port)


class _PermissiveBind(socket.socket):
    """A socket as macOS and the BSDs have it: with SO_REUSEADDR a bind to one address succeeds
    beside a listener on every address (Windows does so without the option)."""

    reuse = False

    def setsockopt(self, *args: Any) -> None:
        if args[:2] == (socket.SOL_SOCKET, socket.SO_REUSEADDR):
            self.reuse = True
        super().setsockopt(*args)

    def bind(self, address: Any) -> None:
        try:
            super().bind(address)
        except OSError:
            if not (self.reuse or sys.platform == "win32") or address[0] in ("", "0.0.0.0", "::"):
                raise
            super().bind((address[0], 0))  # the kernel lets it share the port


def test_a_listener_on_every_address_holds_the_port_where_binds_are_permissive(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Issue 16, 7: `host: auto` and the listener check must not pick a port a program holds."""
    with socket.socket() as everywhere:
        everywhere.bind(("0.0.0.0", 0))
        everywhere.listen()
        port = everywhere.getsockname()[1]
        monkeypatch.setattr(socket, "socket", _PermissiveBind)
        assert port_is_listening("127.0.0.1", port)
        assert port_is_listening("", port)
        with pytest.raises(OperationFailed, match="no free host port"):
            PortAllocator(state_dir=tmp_path, port_range=(port, port)).allocate("127.0.0.1", set())
    monkeypatch.undo()
    assert not port_is_listening("127.0.0.1", port)
