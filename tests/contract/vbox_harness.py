"""The contract harness for real VirtualBox: vboxapi directly (tests may do that).

It runs in the test process, next to the backend under test, and talks to the
same VBoxSVC (tests/conftest.py isolates it per session).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any


class VBoxHarness:
    def __init__(self, mgr: Any) -> None:
        # The backend's own manager: XPCOM starts once per process, and a
        # second manager is never shut down cleanly.
        self.mgr: Any = mgr
        self.vbox: Any = self.mgr.getVirtualBox()
        self.C: Any = self.mgr.constants
        self._foreign: list[str] = []
        self._sessions: list[Any] = []
        self._networks: list[tuple[str, str]] = []  # ("dhcp" | "natnetwork", name) made here

    def _wait(self, progress: Any) -> None:
        progress.waitForCompletion(60_000)
        if progress.resultCode != 0:
            raise RuntimeError(progress.errorInfo.text)

    def make_foreign(self, vm_name: str, memory_mb: int = 64) -> str:
        m = self.vbox.createMachine("", vm_name, self.C.PlatformArchitecture_x86, [], "Other", "", "", "", "")
        m.memorySize = memory_mb  # an unregistered machine is still mutable
        m.saveSettings()
        self.vbox.registerMachine(m)
        self._foreign.append(m.id)
        return str(m.id)

    @contextlib.contextmanager
    def hold_lock(self, uuid: str, holder: str) -> Iterator[None]:
        session = self.mgr.getSessionObject()
        session.name = holder  # what IMachine.sessionName reports to everyone else
        self.vbox.findMachine(uuid).lockMachine(session, self.C.LockType_Write)
        self._sessions.append(session)
        try:
            yield
        finally:
            self._unlock(session)

    def _unlock(self, session: Any) -> None:
        if session in self._sessions:
            self._sessions.remove(session)
            with contextlib.suppress(Exception):
                session.unlockMachine()

    def report_guest(self, uuid: str, additions: str, ipv4: str) -> None:
        from hosted.backend.virtualbox.backend import ADDITIONS_VERSION, GUEST_IPV4

        session = self.mgr.getSessionObject()
        m = self.vbox.findMachine(uuid)
        m.lockMachine(session, self.C.LockType_Shared)
        try:
            session.machine.setGuestProperty(ADDITIONS_VERSION, additions, "")
            session.machine.setGuestProperty(GUEST_IPV4, ipv4, "")
            session.machine.saveSettings()
        finally:
            session.unlockMachine()

    def disk_files(self, uuid: str) -> list[str]:
        m = self.vbox.findMachine(uuid)
        out: list[str] = []
        for att in self.mgr.getArray(m, "mediumAttachments"):
            if att.type == self.C.DeviceType_HardDisk and att.medium:
                out.append(str(att.medium.location))
                base = att.medium.base
                if base and str(base.location) not in out:
                    out.append(str(base.location))
        return out

    def make_foreign_dhcp(self, network: str, server: str, lower: str, upper: str) -> None:
        dhcp = self.vbox.createDHCPServer(network)
        dhcp.setConfiguration(server, "255.255.255.0", lower, upper)
        dhcp.enabled = True
        self._networks.append(("dhcp", network))

    def make_foreign_natnet(self, name: str, cidr: str) -> None:
        natnet = self.vbox.createNATNetwork(name)
        natnet.network = cidr
        natnet.enabled = True
        self._networks.append(("natnetwork", name))

    def cleanup(self) -> None:
        for kind, name in self._networks:
            with contextlib.suppress(Exception):
                if kind == "dhcp":
                    self.vbox.removeDHCPServer(self.vbox.findDHCPServerByNetworkName(name))
                else:
                    self.vbox.removeNATNetwork(self.vbox.findNATNetworkByName(name))
        self._networks.clear()
        for session in list(self._sessions):
            self._unlock(session)
        for uuid in self._foreign:
            with contextlib.suppress(Exception):
                m = self.vbox.findMachine(uuid)
                self._wait(m.deleteConfig(m.unregister(self.C.CleanupMode_Full)))
        self._foreign.clear()
