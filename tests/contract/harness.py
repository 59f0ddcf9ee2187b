"""What the contract needs beyond the Backend protocol, supplied by each backend.

Things only a test does: make a machine hosted did not create, hold a session
lock the way the VirtualBox GUI would, publish guest properties the way the
guest additions would, and find hosted's disk files.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Protocol

from double import MemoryBackend


class Harness(Protocol):
    def make_foreign(self, vm_name: str, memory_mb: int = 64) -> str:
        """Register an untagged machine; returns its uuid."""
        ...

    def hold_lock(self, uuid: str, holder: str) -> contextlib.AbstractContextManager[None]:
        """Another session holds the machine's write lock, its session named ``holder``."""
        ...

    def report_guest(self, uuid: str, additions: str, ipv4: str) -> None:
        """Publish what Guest Additions of that version, with that address, would."""
        ...

    def disk_files(self, uuid: str) -> list[str]:
        """Paths of the hard-disk images attached to the machine (hosted's disk)."""
        ...

    def make_foreign_dhcp(self, network: str, server: str, lower: str, upper: str) -> None:
        """A DHCP server hosted did not create (netmask 255.255.255.0)."""
        ...

    def make_foreign_natnet(self, name: str, cidr: str) -> None:
        """A NAT Network hosted did not create."""
        ...

    def cleanup(self) -> None:
        """Release locks and delete foreign machines made by this harness."""
        ...


class MemoryHarness:
    def __init__(self, backend: MemoryBackend) -> None:
        self.backend = backend
        self._foreign: list[str] = []

    def make_foreign(self, vm_name: str, memory_mb: int = 64) -> str:
        uuid = self.backend.add_foreign_machine(vm_name, memory_mb=memory_mb)
        self._foreign.append(uuid)
        return uuid

    @contextlib.contextmanager
    def hold_lock(self, uuid: str, holder: str) -> Iterator[None]:
        with self.backend.hold_lock(uuid, holder):
            yield

    def report_guest(self, uuid: str, additions: str, ipv4: str) -> None:
        from double import ADDITIONS_VERSION, GUEST_IPV4

        self.backend.set_guest_property(uuid, ADDITIONS_VERSION, additions, transient=False)
        self.backend.set_guest_property(uuid, GUEST_IPV4, ipv4, transient=False)

    def disk_files(self, uuid: str) -> list[str]:
        path = self.backend.disk_path(uuid)
        return [] if path is None else [str(path)]

    def make_foreign_dhcp(self, network: str, server: str, lower: str, upper: str) -> None:
        self.backend.add_foreign_dhcp(network, server, lower, upper)

    def make_foreign_natnet(self, name: str, cidr: str) -> None:
        self.backend.add_foreign_natnet(name, cidr)

    def cleanup(self) -> None:
        for table in (self.backend.dhcp, self.backend.natnets):
            for name in [n for n in table if ("dhcp" if table is self.backend.dhcp else "natnetwork", n)
                         not in self.backend.network_marks]:
                del table[name]
        for m in list(self.backend.machines.values()):
            m.locked_by = None
        for uuid in self._foreign:
            if uuid in self.backend.machines:
                self.backend.destroy(uuid, lambda _e: None)
