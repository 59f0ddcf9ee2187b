"""Where hosted keeps its own files: per-user data (keys, host-key pins, logs),
cache (images) and state (port reservations, the debug log).

The directories are platformdirs' (Linux and other Unix: the XDG base
directories, ``~/.local/share/hosted``, ``~/.cache/hosted`` and
``~/.local/state/hosted``; macOS: ``~/Library/Application Support/hosted`` and
``~/Library/Caches/hosted``; Windows: ``%LOCALAPPDATA%\\hosted`` and
``%LOCALAPPDATA%\\hosted\\Cache``).  The data, cache and state functions only
compute paths; ``state_dir`` and ``private_dir`` also create the directory and
refuse one that another user could have planted (owned by someone else, a
symlink, or writable by others), and ``open_private`` opens a file no one else
can read, never through a symlink.  Nothing lives at a predictable name in a
shared directory such as /tmp.

``HOSTED_DATA_DIR``, ``HOSTED_CACHE_DIR`` and ``HOSTED_STATE_DIR`` (absolute
paths) put the three directories elsewhere on every OS; hosted's test suite
relies on them, since macOS and Windows have no ``XDG_*`` variables to say
where.  Python from the Microsoft Store sees a private copy of everything it
writes under ``%LOCALAPPDATA%``, which ssh.exe and VBoxSVC never see: there
hosted keeps its files in ``%USERPROFILE%\\.hosted`` instead.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import sys
from pathlib import Path
from typing import Any, TextIO

from hosted.errors import HostedError, UsageError

APP = "hosted"
DEBUG_LOG = "debug.log"


class UnsafePath(HostedError):
    """A directory or file hosted writes private data to could be read or replaced by another user."""


def _dirs() -> Any:
    # Chosen here (not by platformdirs at import) so the platform can be switched in tests.
    if sys.platform == "win32":
        from platformdirs.windows import Windows

        return Windows(APP, appauthor=False)
    if sys.platform == "darwin":
        from platformdirs.macos import MacOS

        return MacOS(APP)
    from platformdirs.unix import Unix

    return Unix(APP)


DATA_VAR, CACHE_VAR, STATE_VAR = "HOSTED_DATA_DIR", "HOSTED_CACHE_DIR", "HOSTED_STATE_DIR"
# Where the Microsoft Store's Python runs from (its package folder under WindowsApps).
_STORE = re.compile(r"[\\/]WindowsApps[\\/](PythonSoftwareFoundation\.Python\.[0-9][^\\/]*)", re.IGNORECASE)


def _override(var: str) -> Path | None:
    value = os.environ.get(var, "")
    return Path(value) if value and os.path.isabs(value) else None


def store_python(places: tuple[str, ...] | None = None) -> str | None:
    """The Microsoft Store package this Python runs from (its folder's name), or None.

    Such a Python writes files under %LOCALAPPDATA% and %APPDATA% into a private
    copy other programs (ssh.exe, VBoxSVC) do not see.  A virtual environment made
    from it (pipx's) keeps it as ``sys.base_prefix``.
    """
    if places is None:
        if sys.platform != "win32":
            return None
        places = (sys.base_prefix, getattr(sys, "_base_executable", ""), sys.executable)
    for place in places:
        found = _STORE.search(place or "")
        if found:
            return found.group(1)
    return None


def _outside_store(kind: str) -> Path | None:
    """With the Store's Python: a folder in the user's profile, outside AppData (None otherwise)."""
    return Path.home() / ".hosted" / kind if store_python() else None


def data_dir() -> Path:
    """The per-user data directory (keys, pins, provisioning logs)."""
    return _override(DATA_VAR) or _outside_store("data") or Path(_dirs().user_data_dir)


def cache_dir() -> Path:
    """The per-user cache directory (downloaded images); safe to delete."""
    return _override(CACHE_VAR) or _outside_store("cache") or Path(_dirs().user_cache_dir)


def state_dir() -> Path:
    """The per-user state directory (port reservations, locks, the debug log), created 0700.

    ``$HOSTED_STATE_DIR`` when set; else ``$XDG_RUNTIME_DIR/hosted`` when that
    variable names a directory of this user's that only they can enter (as the
    XDG spec requires), else platformdirs' user state directory.  Never a name
    under /tmp.
    """
    chosen = _override(STATE_VAR) or _outside_store("state")
    if chosen is not None:
        return private_dir(chosen)
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if runtime and os.path.isabs(runtime) and _private_dir(Path(runtime)) is None:
        return private_dir(Path(runtime) / APP)
    return private_dir(Path(_dirs().user_state_dir))


def scratch_dir() -> Path | None:
    """Where to put temporary files another program reads (ssh-keygen): the system's temporary
    folder (None), except with the Store's Python, whose %TEMP% is a private copy too."""
    return private_dir(state_dir() / "tmp") if store_python() else None


def debug_log_path() -> Path:
    """Where the CLI writes tracebacks of bugs: in the state directory, opened with ``open_private``."""
    return state_dir() / DEBUG_LOG


def environment_dir(env_name: str) -> Path:
    """One environment's data: its SSH key pair, and its machines below."""
    return data_dir() / "environments" / component(env_name, "environment")


def machine_dir(env_name: str, machine: str) -> Path:
    """One machine's data: its host-key pin file and its provisioning log."""
    return environment_dir(env_name) / "machines" / component(machine, "machine")


def private_dir(path: Path) -> Path:
    """``path`` as a directory only this user can use: created 0700 when missing, else checked."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise UnsafePath(f"cannot create the directory {path}: {exc.strerror or exc}",
                         f"Check the permissions of {path.parent}.") from None
    problem = _private_dir(path)
    if problem is not None:
        raise UnsafePath(f"refusing to use {path}: {problem}",
                         "Another user may have created it to read or replace hosted's files: remove it "
                         "(or fix its owner and mode to your own, 0700) and run the command again.")
    return path


def is_private_dir(path: Path) -> bool:
    """Whether ``path`` is a directory of this user's that others cannot write to (it is not created)."""
    return _private_dir(path) is None


def _private_dir(path: Path) -> str | None:
    """Why ``path`` is not a directory of this user's that others cannot write to (None: it is)."""
    try:
        st = os.lstat(path)
    except OSError as exc:
        return f"it cannot be read ({exc.strerror or exc})"
    if stat.S_ISLNK(st.st_mode):
        return "it is a symbolic link"
    if not stat.S_ISDIR(st.st_mode):
        return "it is not a directory"
    if sys.platform == "win32":
        # Windows reports every folder as 0777 and has no uids: the ACLs of the user's
        # profile, where these folders are, keep other users out.
        return None
    if st.st_uid != os.getuid():
        return f"it belongs to another user (uid {st.st_uid})"
    if st.st_mode & 0o022:
        return f"others can write to it (mode {stat.S_IMODE(st.st_mode):04o})"
    return None


def open_private(path: Path, mode: str = "a") -> TextIO:
    """Open ``path`` for appending ("a") or writing ("w") as a 0600 text file of this user's.

    Never follows a symlink at ``path``; an existing file of another user's is
    refused, and one of this user's that others could read is made 0600.
    """
    flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    flags |= os.O_APPEND if mode == "a" else os.O_TRUNC
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as exc:
        raise UnsafePath(f"cannot open {path}: {exc.strerror or exc}",
                         f"Check that {path} is a file of yours, not a symbolic link, in a directory you "
                         "can write to.") from None
    try:
        st = os.fstat(fd)
        if hasattr(os, "getuid") and st.st_uid != os.getuid():
            raise UnsafePath(f"refusing to write to {path}: it belongs to another user",
                             "Remove it, or give hosted another directory.")
        if stat.S_IMODE(st.st_mode) & 0o077 and hasattr(os, "fchmod"):
            os.fchmod(fd, 0o600)
        return open(fd, "a" if mode == "a" else "w", encoding="utf-8")
    except BaseException:
        os.close(fd)
        raise


_READ_FLAGS = (os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
               | getattr(os, "O_CLOEXEC", 0))


def read_private(path: Path, max_bytes: int) -> bytes | None:
    """The bytes of ``path`` if it is a regular file of this user's that no one else can read
    (0600), not a symlink, of at most ``max_bytes``; None otherwise, or if it cannot be read."""
    try:
        fd = os.open(path, _READ_FLAGS)
    except (OSError, ValueError):
        return None
    with open(fd, "rb") as handle:
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or st.st_size > max_bytes:
                return None
            if hasattr(os, "getuid") and (st.st_uid != os.getuid() or stat.S_IMODE(st.st_mode) != 0o600):
                return None
            data = handle.read(max_bytes + 1)
        except OSError:
            return None
    return data if len(data) <= max_bytes else None


def write_private(path: Path, data: bytes) -> bool:
    """Replace ``path`` with ``data`` atomically (a reader sees the old file or the whole new one),
    through a 0600 temporary file of a random name beside it; False when it cannot be written.
    No fsync: for caches, where a file torn by a crash does not load, which is a miss."""
    import tempfile

    try:
        fd, name = tempfile.mkstemp(prefix=".new-", dir=path.parent)  # 0600, O_EXCL
    except OSError:
        return False
    try:
        with open(fd, "wb") as handle:
            handle.write(data)
        os.replace(name, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(name)
        return False
    return True


# Names Windows gives to devices, in every folder and with any extension ("nul.txt" is NUL too).
WINDOWS_DEVICES = frozenset({"con", "prn", "aux", "nul", *(f"{port}{n}" for port in ("com", "lpt")
                                                              for n in "0123456789\u00b9\u00b2\u00b3")})


def windows_problem(name: str) -> str | None:
    """Why ``name`` cannot be a file or folder name on Windows (None: it can)."""
    if name.split(".", 1)[0].rstrip(" ").lower() in WINDOWS_DEVICES:
        return "is a device name on Windows"
    if name.endswith((".", " ")):
        return "ends in a dot or a space, which Windows drops from folder names"
    return None


def component(name: str, what: str) -> str:
    """A name used as one path component on every OS: never empty, never a path of its own."""
    if not name or name in (".", "..") or any(c in name for c in "/\\\0:") or not name.isprintable():
        raise UsageError(f"{what} name {name!r} cannot be used as a directory name",
                         hint="use letters, digits, '-', '_' and '.'")
    problem = windows_problem(name)
    if problem:
        raise UsageError(f"{what} name {name!r} cannot be used as a directory name: it {problem}",
                         hint="choose another name (hosted keeps the same names on Linux, macOS and Windows)")
    return name
