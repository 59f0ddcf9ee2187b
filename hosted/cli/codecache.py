"""The methods of hosted's dataclasses, compiled once and kept between runs of the console script.

A ``@dataclass`` writes its ``__init__``, ``__repr__``, ``__eq__``, ``__hash__``
and (frozen) ``__setattr__``/``__delattr__`` as Python source and compiles it
when its module is imported: about 1 ms per frozen class on Python 3.14, and a
command such as ``status`` imports about 90 of them (bench/README.md).  The
source text of those methods is all the compiled code follows from (defaults,
types and helpers are passed to it by name), so the code compiled from one text
is the same on every run.  ``install`` makes the dataclasses module compile
through this cache: a text seen before (by its sha256) gets its code object from the cache file
instead of the compiler; a new one is compiled as before and written to the file
once the command has succeeded (``save``): one that fails or is refused leaves
nothing on disk, not even the cache's directory.

Only the console script (``hosted ...`` and ``python -m hosted``) installs it;
``main()`` called in process, the library and the pytest plugin never do.  The
file is this interpreter's own (its bytecode magic, cache tag and optimisation
level are in its name), and like the interpreter's ``__pycache__`` it holds code:
it is read only if it is a regular 0600 file of this user's in a directory only
this user can write to (``paths.read_private``).  A missing, foreign, corrupt or
odd file is an empty cache, and one that cannot be written is no cache: never
an error, never a different result.  Where ``dataclasses`` compiles in some other
way, the cache is simply not used.
"""

from __future__ import annotations

import builtins
import hashlib
import importlib.util
import marshal
import sys
import threading
from pathlib import Path
from types import CodeType
from typing import Any

MAX_ENTRIES = 600  # beyond this (code of older versions), a save keeps only what the run used
MAX_BYTES = 8 * 1024 * 1024
DIRECTORY = "code"


def file_name() -> str:
    tag = sys.implementation.cache_tag or sys.implementation.name
    return f"dataclasses-{tag}-{importlib.util.MAGIC_NUMBER.hex()}-O{sys.flags.optimize}.marshal"


class CodeCache:
    """``exec`` for the dataclasses module: source texts it has compiled before run from the cache."""

    def __init__(self, path: Path | None) -> None:
        self.path = path  # None: the cache directory cannot be had; compile as usual
        self._lock = threading.Lock()
        self._known: dict[bytes, CodeType] | None = None  # read on first use
        self.used: dict[bytes, CodeType] = {}  # by the sha256 of their source text
        self.compiled = 0  # texts this process had to compile

    def exec(self, source: Any, globals: Any = None, locals: Any = None, /, **kwargs: Any) -> None:
        if type(source) is str:
            source = self.code(source)
        builtins.exec(source, globals, locals, **kwargs)

    def code(self, source: str) -> CodeType:
        key = hashlib.sha256(source.encode("utf-8", "surrogatepass")).digest()
        with self._lock:
            if self._known is None:
                self._known = read(self.path)
            found = self._known.get(key)
            if found is None:
                # As ``exec(text)`` would from the dataclasses module: no future flags of ours.
                found = compile(source, "<string>", "exec", dont_inherit=True)
                self.compiled += 1
            self.used[key] = found
            return found

    def save(self) -> None:
        """Write what this run compiled to the cache file, atomically (its directory made 0700
        first); a failure is no cache."""
        if self.path is None or not self.compiled:
            return
        from hosted import paths
        from hosted.errors import HostedError

        try:
            paths.private_dir(self.path.parent)
        except (HostedError, OSError):
            return
        with self._lock:
            known = self._known or {}
            keep = {**known, **self.used} if len(known) + len(self.used) <= MAX_ENTRIES else dict(self.used)
            data = marshal.dumps(keep)
        if len(data) <= MAX_BYTES:
            paths.write_private(self.path, data)


def read(path: Path | None) -> dict[bytes, CodeType]:
    """The entries of the cache file at ``path``; anything unexpected is an empty cache."""
    if path is None:
        return {}
    from hosted import paths

    if not paths.is_private_dir(path.parent):  # missing, a link, or others can write to it
        return {}
    data = paths.read_private(path, MAX_BYTES)
    if data is None:
        return {}
    try:
        value = marshal.loads(data)
    except Exception:  # torn or foreign: marshal raises ValueError, EOFError, TypeError
        return {}
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if type(k) is bytes and len(k) == 32 and type(v) is CodeType}


_installed: CodeCache | None = None


def install() -> CodeCache | None:
    """Make the dataclasses module compile through the cache (once per process)."""
    global _installed
    if _installed is not None:
        return _installed
    import dataclasses

    if getattr(dataclasses, "exec", builtins.exec) is not builtins.exec:
        return None  # someone else's: leave it
    _installed = CodeCache(cache_file())
    dataclasses.exec = _installed.exec  # type: ignore[attr-defined]  # shadows the builtin there
    return _installed


def cache_file() -> Path | None:
    """Where the cache is (nothing is created: a command that fails leaves no trace)."""
    from hosted import paths
    from hosted.errors import HostedError

    try:
        return paths.cache_dir() / DIRECTORY / file_name()
    except (HostedError, OSError):
        return None


def save(code: int) -> None:
    """The console script's last step: keep what this run compiled, once the command succeeded
    (exit code 0): a command refused or failed changes nothing on disk."""
    if _installed is not None and code == 0:
        _installed.save()
