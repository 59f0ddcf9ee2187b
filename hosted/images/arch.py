"""CPU architecture names: every spelling images, boxes and hosts use, as ``x86_64`` or ``arm64``.

VirtualBox runs a guest of the host's CPU family only, so these two names are
all hosted compares (``platform.machine()`` says ``AMD64`` on Windows and
``aarch64`` on Linux; boxes say ``amd64``; OVFs say ``x86`` or ``ARM``).
"""

from __future__ import annotations

_SPELLINGS = {
    "x86_64": ("x86_64", "amd64", "x64", "x86", "i386", "i486", "i586", "i686", "386"),
    "arm64": ("arm64", "aarch64", "armv8", "arm64v8", "arm64e", "arm"),
}
_NAMES = {spelling: name for name, spellings in _SPELLINGS.items() for spelling in spellings}


def normalize_arch(value: str | None) -> str | None:
    """``amd64``, ``x86``, ``ARM``, ``aarch64``... -> ``x86_64`` or ``arm64`` (None if unknown)."""
    return _NAMES.get(value.strip().lower()) if value else None
