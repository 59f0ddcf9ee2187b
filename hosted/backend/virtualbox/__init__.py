"""The VirtualBox backend: the only part of hosted that imports ``vboxapi``.

Importing this package does not import vboxapi; ``connect`` does.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

from hosted.events import Emit, discard

if TYPE_CHECKING:
    from hosted.backend.virtualbox.backend import VirtualBoxBackend

__all__ = ["VirtualBoxBackend", "connect"]


def connect(emit: Emit = discard) -> VirtualBoxBackend:
    """Find VirtualBox and its bindings, start/reach VBoxSVC, check the API version.

    Raises BackendUnavailable (no VirtualBox, no bindings, VBoxSVC not
    starting) or UnsupportedVirtualBox (older than 7.0).
    """
    from hosted.backend.virtualbox import connection, driverless
    from hosted.backend.virtualbox.backend import VirtualBoxBackend
    from hosted.backend.virtualbox.compat import select_api
    from hosted.backend.virtualbox.context import Ctx
    from hosted.backend.virtualbox.translate import boundary

    mgr, found = connection.manager()
    vbox = connection.virtualbox(mgr)
    api = select_api(str(vbox.APIVersion), str(vbox.version), emit)
    interpreted = not driverless.has_kernel_driver()
    ctx = Ctx(mgr=mgr, threads=connection.threads(mgr, vbox), api=api, driverless=interpreted)
    with boundary(ctx, "connecting to VirtualBox"):
        details = (("bindings", str(mgr.type)), ("program_dir", str(found.program_dir)),
                   ("kernel_driver", "no" if interpreted else "yes"))
    # The driverless warning is given per machine when one is created (and
    # by `hosted doctor`), not on every command.
    return VirtualBoxBackend(ctx, _allocate, details)


def _allocate(host_ip: str, taken: Collection[int], protocol: str = "tcp") -> int:
    """hosted.ports' allocator, imported when a port is first wanted (it brings socket and
    tempfile, which commands that read only do not need)."""
    from hosted.ports import PortAllocator

    return PortAllocator().allocate(host_ip, taken, protocol)


def __getattr__(name: str) -> object:
    if name == "VirtualBoxBackend":
        from hosted.backend.virtualbox.backend import VirtualBoxBackend

        return VirtualBoxBackend
    raise AttributeError(name)
