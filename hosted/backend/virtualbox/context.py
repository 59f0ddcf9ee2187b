"""What every part of the backend needs: the vboxapi manager, IVirtualBox, constants."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from hosted.backend.virtualbox.apartment import Threads
from hosted.backend.virtualbox.compat import Api
from hosted.model import PowerState

# Seconds: how long to retry a machine lock held by someone else, and the
# default limit for a VirtualBox progress (disk creation, start, snapshot).
LOCK_TIMEOUT = 5.0
PROGRESS_TIMEOUT = 600.0
MB = 1024 * 1024
_SESSIONS = threading.Lock()


@dataclass
class Ctx:
    """What every VirtualBox operation works with: the manager, each thread's connection, what differs
    between API versions, and the time limits."""
    mgr: Any  # vboxapi.VirtualBoxManager
    threads: Threads  # each thread's IVirtualBox, and which threads are set up for COM/XPCOM
    api: Api
    driverless: bool = False
    lock_timeout: float = LOCK_TIMEOUT
    progress_timeout: float = PROGRESS_TIMEOUT
    _max_nics: dict[int, int] = field(default_factory=dict)
    power_names: dict[int, PowerState] = field(default_factory=dict)  # MachineState -> PowerState
    port_scan: tuple[float, frozenset[int]] | None = None  # (when, host ports) of the last scan

    @property
    def vbox(self) -> Any:
        """IVirtualBox, as the calling thread may use it (its COM apartment's)."""
        return self.threads.vbox()

    def session(self) -> Any:
        """A new ISession.  The XPCOM bindings describe an object's class to Python when it is
        first used, and two threads doing that at once can leave the description without
        methods ("Session has no attribute 'unlockMachine'": 2 runs in 40 with 3 threads
        locking at once, none in 80 with this): sessions are made and first used one
        thread at a time."""
        with _SESSIONS:
            session = self.mgr.getSessionObject()
            session.state  # noqa: B018 -- the first use: the description is built here
        return session

    @property
    def const(self) -> Any:
        return self.mgr.constants

    @property
    def xcpt(self) -> type[BaseException]:
        """The base class of the bindings' exceptions (xpcom.Exception or pywintypes.com_error)."""
        cls = self.mgr.oXcptClass
        return cls if isinstance(cls, type) else Exception

    def array(self, obj: Any, attr: str) -> list[Any]:
        """An array attribute; plain attribute access does not work under XPCOM."""
        return list(self.mgr.getArray(obj, attr) or [])

    def max_nics(self, machine: Any) -> int:
        """Adapter slots for the machine's chipset (a property of VirtualBox, not of the machine)."""
        chipset = self.api.chipset(machine)
        if chipset not in self._max_nics:
            self._max_nics[chipset] = self.api.max_network_adapters(self.vbox, chipset)
        return self._max_nics[chipset]
