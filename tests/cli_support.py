"""Backends for CLI tests, chosen through HOSTED_BACKEND=cli_support:NAME."""

from __future__ import annotations

from double import MemoryBackend

from hosted.errors import BackendUnavailable


class SharedBackend(MemoryBackend):
    """Outlives one command: the CLI closes its backend after every command."""

    def close(self) -> None:
        pass


SHARED: SharedBackend | None = None


def shared() -> SharedBackend:
    global SHARED
    if SHARED is None:
        SHARED = SharedBackend()
    return SHARED


def reset() -> None:
    global SHARED
    SHARED = None


def unavailable() -> MemoryBackend:
    raise BackendUnavailable(
        "VirtualBox is not installed (no VBoxSVC found)",
        "install VirtualBox 7.0 or newer, then run `hosted doctor`",
    )


def broken() -> MemoryBackend:
    raise RuntimeError("a bug in a backend")
