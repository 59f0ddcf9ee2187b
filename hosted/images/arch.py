"""CPU architecture names: every spelling images, boxes and hosts use, as ``x86_64`` or ``arm64``.

VirtualBox runs a guest of the host's CPU family only, so these two names are
all hosted compares (``platform.machine()`` says ``AMD64`` on Windows and
``aarch64`` on Linux; boxes say ``amd64``; OVFs say ``x86`` or ``ARM``).

The host's family is the computer's, not the Python's: an x86_64 Python on an
Apple silicon Mac runs under Rosetta 2, and one on Windows on Arm under
emulation, and ``platform.machine()`` then says x86_64.
"""

from __future__ import annotations

import platform
from collections.abc import Callable

from hosted import hostinfo

_SPELLINGS = {
    "x86_64": ("x86_64", "amd64", "x64", "x86", "i386", "i486", "i586", "i686", "386"),
    "arm64": ("arm64", "aarch64", "armv8", "arm64v8", "arm64e", "arm"),
}
_NAMES = {spelling: name for name, spellings in _SPELLINGS.items() for spelling in spellings}


def normalize_arch(value: str | None) -> str | None:
    """``amd64``, ``x86``, ``ARM``, ``aarch64``... -> ``x86_64`` or ``arm64`` (None if unknown)."""
    return _NAMES.get(value.strip().lower()) if value else None


def host_arch(machine: str | None = None, emulated: Callable[[], str | None] | None = None) -> str | None:
    """This computer's CPU family (``x86_64`` or ``arm64``; None if unknown), seen through
    Rosetta 2 and Windows' x64 emulation (``machine``: what platform.machine() says, for tests;
    ``emulated``: the native family when this process is emulated, else None)."""
    name = normalize_arch(machine if machine is not None else platform.machine())
    if name == "x86_64" and (emulated is not None or machine is None):
        return (emulated or hostinfo.native_under_emulation)() or name
    return name
