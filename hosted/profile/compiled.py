"""The compiled-profile cache: a profile that did not change is validated once, not on every command.

Validating imports PyYAML, pydantic and the schema (about 0.3 s of CPU and 12-22 MB
in a fresh process).  A successful load is kept as a pickle of its
``hosted.model.Environment`` under ``state_dir()/profiles/``, named by a sha256 over
what the result follows from: hosted's version and its profile code (the mtimes
and sizes of ``hosted/profile/*.py`` and the modules they use, so an edited
checkout invalidates), the versions of the libraries on the path, the profile's
absolute path, its bytes, and the home directory (``~`` in paths).  The entry
also keeps what the load read besides (``hosted.profile.recorded``): the ``${VAR}``s
it looked up with their values, the digests of the files it included, and the
host paths it checked with their kinds and resolved symlinks.  A hit is used only
while every one of these is unchanged; anything else loads the profile again, so
errors stay those of a fresh load.

The entries are pickles, so one is unpickled only if it is a regular file of this
user's, mode 0600, in a directory only this user can write to: an entry planted by
someone else is a miss, never loaded.  They hold the profile's values (secrets
too), which is why they are private.  An unreadable or corrupt entry is a miss, and
a cache that cannot be written is no cache: never an error.  ``hosted validate``
and profiles extracted from bundles do not use it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import stat
import sys
from collections.abc import Mapping
from importlib.machinery import PathFinder
from pathlib import Path
from typing import Any

from hosted import __version__, model, paths
from hosted.errors import HostedError
from hosted.profile import recorded
from hosted.profile.locate import MAX_INCLUDE_BYTES, profile_file, read_profile

FORMAT = 1  # of an entry; part of the key
MAX_ENTRIES = 64
MAX_ENTRY_BYTES = 16 * 1024 * 1024
DIRECTORY = "profiles"
# Besides hosted/profile/*.py, the modules of hosted whose code decides what a profile loads to.
_HOSTED_SOURCES = ("model.py", "networks.py", "paths.py", "redact.py", "errors.py", "__init__.py")
_LIBRARIES = ("yaml", "pydantic", "pydantic_core")


def load(path: str | os.PathLike[str], environ: Mapping[str, str] | None = None) -> model.Environment:
    """``hosted.profile.loader.load_profile``, from the cache when nothing it depends on changed."""
    file = profile_file(path)
    variables = os.environ if environ is None else environ
    raw = read_profile(file)
    directory = None if from_bundle(file) else cache_directory()
    if directory is None:
        return _load(file, raw, variables)
    key = cache_key(file, raw)
    entry = directory / key
    cached = lookup(entry, key, variables)
    if cached is not None:
        return cached
    with recorded.recording() as reads:
        env = _load(file, raw, variables)
    store(directory, key, env, reads)
    return env


def _load(file: str, raw: bytes, environ: Mapping[str, str]) -> model.Environment:
    from hosted.profile.loader import load_bytes  # YAML, pydantic, the schema: on a miss only

    return load_bytes(file, raw, environ)


def from_bundle(file: str) -> bool:
    """Whether ``file`` is in a bundle's extraction (``hosted.images.bundle``): not cached."""
    root = paths.cache_dir() / "bundles"
    for candidate, base in ((file, str(root)), (os.path.realpath(file), os.path.realpath(root))):
        if Path(candidate).is_relative_to(base):
            return True
    return False


def cache_directory() -> Path | None:
    """The private directory of the entries (None: it cannot be had, so no cache)."""
    try:
        return paths.private_dir(paths.state_dir() / DIRECTORY)
    except (HostedError, OSError):
        return None


# ---- the key ----

def cache_key(file: str, raw: bytes) -> str:
    """What a profile's load follows from, before it is read further."""
    digest = hashlib.sha256()
    for part in (str(FORMAT), __version__, sys.version, _code_stamp(), file, os.path.expanduser("~")):
        _field(digest, part.encode("utf-8", "surrogateescape"))
    _field(digest, raw)
    return digest.hexdigest()


def _field(digest: Any, data: bytes) -> None:
    digest.update(len(data).to_bytes(8, "big"))
    digest.update(data)


def _code_stamp() -> str:
    """The mtime and size of every source file the load runs (of hosted and its libraries)."""
    here = os.path.dirname(os.path.abspath(__file__))
    top = os.path.dirname(here)
    files = sorted(os.path.join(here, name) for name in os.listdir(here) if name.endswith(".py"))
    files += [os.path.join(top, name) for name in _HOSTED_SOURCES]
    for library in _LIBRARIES:  # located, not imported
        spec = PathFinder.find_spec(library)
        files.append(spec.origin if spec is not None and spec.origin else f"<no {library}>")
    return "\n".join(f"{name} {_stat_stamp(name)}" for name in files)


def _stat_stamp(name: str) -> str:
    try:
        st = os.stat(name)
    except (OSError, ValueError):
        return "-"
    return f"{st.st_mtime_ns} {st.st_size}"


# ---- reading an entry ----

def lookup(entry: Path, key: str, environ: Mapping[str, str]) -> model.Environment | None:
    """The cached Environment at ``entry`` if it is one of ours for ``key`` and still fresh."""
    data = paths.read_private(entry, MAX_ENTRY_BYTES)
    if data is None:
        return None
    try:
        value = pickle.loads(data)
    except Exception:  # a torn or foreign pickle can raise anything: a miss
        return None
    if not _well_formed(value, key) or not fresh(value["reads"], environ):
        return None
    with contextlib.suppress(OSError):
        os.utime(entry)  # recently used: pruned last
    env: model.Environment = value["environment"]
    return env


def _well_formed(value: Any, key: str) -> bool:
    if not isinstance(value, dict) or value.get("format") != FORMAT or value.get("key") != key:
        return False
    reads = value.get("reads")
    return isinstance(value.get("environment"), model.Environment) and isinstance(reads, recorded.Reads)


def fresh(reads: recorded.Reads, environ: Mapping[str, str]) -> bool:
    """Whether everything the load read besides the profile is as it was."""
    if any(environ.get(name) != value for name, value in reads.environ.items()):
        return False
    if any(recorded.current_kind(path) != kind for path, kind in reads.paths.items()):
        return False
    for path, real in reads.realpaths.items():
        try:
            if os.path.realpath(path) != real:
                return False
        except (OSError, ValueError):
            return False
    return all(_file_digest(path) == digest for path, digest in reads.files.items())


def _file_digest(path: str) -> str | None:
    """The digest of an included file's bytes as the load reads them (None: it cannot be read)."""
    try:
        with open(os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)), "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                return None
            return recorded.digest(handle.read(MAX_INCLUDE_BYTES + 1))
    except (OSError, ValueError):
        return None


# ---- writing ----

def store(directory: Path, key: str, env: model.Environment, reads: recorded.Reads) -> None:
    """Keep ``env`` under ``key``, atomically (a reader sees a whole entry or none), then prune."""
    try:
        data = pickle.dumps({"format": FORMAT, "key": key, "reads": reads, "environment": env},
                            protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # something in the model that does not pickle: no cache for it, not an error
        return
    # A torn entry is a corrupt pickle, which is a miss.
    if paths.write_private(directory / key, data):
        prune(directory)


def prune(directory: Path, keep: int = MAX_ENTRIES) -> None:
    """Remove the least recently used entries beyond ``keep``."""
    entries: list[tuple[int, str]] = []
    try:
        with os.scandir(directory) as found:
            for item in found:
                with contextlib.suppress(OSError):
                    entries.append((item.stat(follow_symlinks=False).st_mtime_ns, item.name))
    except OSError:
        return
    entries.sort(reverse=True)
    for _, name in entries[keep:]:
        with contextlib.suppress(OSError):
            os.unlink(directory / name)
