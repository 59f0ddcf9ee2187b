"""Where hosted keeps its own files: per-user data (keys, host-key pins, logs)
and cache (images).

Linux and other Unix: the XDG base directories (``$XDG_DATA_HOME/hosted``,
default ``~/.local/share/hosted``; ``$XDG_CACHE_HOME/hosted``, default
``~/.cache/hosted``).  macOS: ``~/Library/Application Support/hosted`` and
``~/Library/Caches/hosted``.  Windows: ``%LOCALAPPDATA%\\hosted`` (data) and
``%LOCALAPPDATA%\\hosted\\Cache``.  Functions only compute paths; callers
create the directories they write to.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from hosted.errors import UsageError

APP = "hosted"


def data_dir() -> Path:
    """The per-user data directory (keys, pins, provisioning logs)."""
    if sys.platform == "win32":
        return _local_appdata() / APP
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / APP
    return _xdg("XDG_DATA_HOME", Path.home() / ".local" / "share") / APP


def cache_dir() -> Path:
    """The per-user cache directory (downloaded images); safe to delete."""
    if sys.platform == "win32":
        return _local_appdata() / APP / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / APP
    return _xdg("XDG_CACHE_HOME", Path.home() / ".cache") / APP


def log_dir() -> Path:
    """hosted's own logs (the --debug log, tracebacks of bugs)."""
    return data_dir() / "logs"


def environment_dir(env_name: str) -> Path:
    """One environment's data: its SSH key pair, and its machines below."""
    return data_dir() / "environments" / _component(env_name, "environment")


def machine_dir(env_name: str, machine: str) -> Path:
    """One machine's data: its host-key pin file and its provisioning log."""
    return environment_dir(env_name) / "machines" / _component(machine, "machine")


def _xdg(variable: str, default: Path) -> Path:
    # The XDG spec says relative values are invalid and must be ignored.
    value = os.environ.get(variable, "")
    return Path(value) if value and os.path.isabs(value) else default


def _local_appdata() -> Path:
    value = os.environ.get("LOCALAPPDATA", "")
    return Path(value) if value else Path.home() / "AppData" / "Local"


def _component(name: str, what: str) -> str:
    """A name used as one path component: never empty, never a path of its own."""
    if not name or name in (".", "..") or any(c in name for c in "/\\\0:"):
        raise UsageError(f"{what} name {name!r} cannot be used as a directory name",
                         hint="use letters, digits, '-', '_' and '.'")
    return name
