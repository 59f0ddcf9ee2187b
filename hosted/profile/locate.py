"""Find a profile and read its bytes: what every command does before it knows whether the
compiled-profile cache (``hosted.profile.compiled``) holds the profile, so nothing here
imports YAML, pydantic or the schema."""

from __future__ import annotations

import os
import stat
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from hosted.errors import ProfileError

if typing.TYPE_CHECKING:
    from hosted.images.bundle import OpenedBundle

DEFAULT_NAMES = ("hosted.yaml", "hosted.yml")
MAX_PROFILE_BYTES = 1024 * 1024  # a profile is a page of YAML; this is generous
MAX_INCLUDE_BYTES = 1024 * 1024  # an included file (hosted.profile.expand)
ENV_VARIABLE = "HOSTED_FILE"  # the profile, when no -f is given


@dataclass(frozen=True)
class Located:
    """The profile to load, and the bundle it came from (None: a profile file of the user's)."""

    profile: Path
    bundle: OpenedBundle | None = None


def find_profile(path: str | os.PathLike[str] | None = None,
                 environ: Mapping[str, str] | None = None, cwd: Path | None = None) -> Path:
    """The profile to use: ``path`` (a file, or a directory holding hosted.yaml); else the
    ``HOSTED_FILE`` environment variable; else hosted.yaml in the current directory or the
    nearest parent directory that has one (as git and Vagrant look for theirs).

    A bundle made by ``hosted bundle`` is extracted once (every checksum verified,
    its profile validated with ``environ`` before the extraction is kept) and its
    profile returned.
    """
    return locate_profile(path, environ, cwd).profile


def locate_profile(path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None,
                   cwd: Path | None = None, *, allowed_signers: Path | None = None) -> Located:
    """``find_profile``, keeping what is known of a bundle: who signed it (with
    ``allowed_signers``: BadSignature for a signature that is not good; an
    unsigned bundle has no signer), for ``hosted.images.trust.require_trust``."""
    variables = os.environ if environ is None else environ
    start = (cwd or Path.cwd()).absolute()
    if path is None and variables.get(ENV_VARIABLE):
        path = variables[ENV_VARIABLE]
    if path is None:
        for directory in (start, *start.parents):
            found = _named(directory)
            if found is not None:
                return Located(found)
        return Located(_in_directory(start))
    candidate = Path(path).expanduser()
    if not candidate.is_absolute():
        candidate = start / candidate
    if candidate.is_dir():
        return Located(_in_directory(candidate))
    if not candidate.exists():
        via = f" (from {ENV_VARIABLE})" if path == variables.get(ENV_VARIABLE) else ""
        raise ProfileError(f"no profile at {candidate}{via}", "Check the path given for the profile.",
                           file=str(candidate))
    if candidate.suffix in (".yaml", ".yml"):  # never a bundle (is_bundle), and no tarfile, yaml, ...
        return Located(candidate.absolute())
    from hosted.images.bundle import is_bundle, unpack_bundle

    if not is_bundle(candidate):
        return Located(candidate.absolute())
    bundle = candidate.absolute()  # an offline bundle: its profile, extracted and verified
    opened = unpack_bundle(bundle, allowed_signers=allowed_signers, check=_bundled_check(bundle, environ))
    return Located(opened.profile, opened)


def _named(directory: Path) -> Path | None:
    for name in DEFAULT_NAMES:
        candidate = directory / name
        try:
            if candidate.is_file():
                return candidate.absolute()
        except OSError:  # an unreadable directory on the way up
            return None
    return None


def _bundled_check(bundle: Path, environ: Mapping[str, str] | None) -> Callable[[Path], object]:
    """Validate a bundle's extracted profile; its problems name it as ``BUNDLE/profile/NAME``."""

    def check(profile: Path) -> object:
        from hosted.profile.loader import load_profile

        try:
            return load_profile(profile, environ)
        except ProfileError as exc:
            shown = f"{bundle}/profile/{profile.name}"
            work = str(profile.parent.parent)  # the extraction, removed again: name the bundle

            def named(text: str) -> str:
                return text.replace(work, str(bundle))

            raise ProfileError.of_all(
                ProfileError(named(p.reason), named(p.hint), file=shown, line=p.line, column=p.column,
                             key=p.key) for p in exc.problems) from None

    return check


def _in_directory(directory: Path) -> Path:
    found = _named(directory)
    if found is not None:
        return found
    raise ProfileError(
        f"no {DEFAULT_NAMES[0]} in {directory.absolute()} (nor in a parent directory)",
        "Run `hosted init` there to write a starter profile (`hosted init --list` shows the "
        f"templates), give the profile's path with -f, or set {ENV_VARIABLE}.",
        file=str(directory.absolute() / DEFAULT_NAMES[0]),
    )


def read_profile(file: str) -> bytes:
    """The bytes of the profile file ``file`` (ProfileError if it cannot be one)."""
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below.
        with open(os.open(file, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)), "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise ProfileError(f"{file} is not a regular file",
                                   "Give the path of the profile file itself.", file=file)
            raw = handle.read(MAX_PROFILE_BYTES + 1)
        if len(raw) > MAX_PROFILE_BYTES:
            raise ProfileError(f"the profile is larger than {MAX_PROFILE_BYTES // 1024} KiB",
                               "A profile describes machines; put large scripts and data in files it "
                               "refers to.", file=file)
        return raw
    except FileNotFoundError:
        raise ProfileError(f"no profile at {file}", "Check the path given for the profile.",
                           file=file) from None
    except IsADirectoryError:
        raise ProfileError(f"{file} is a directory, not a profile",
                           "Give the path of the profile file itself.", file=file) from None
    except OSError as exc:
        raise ProfileError(f"cannot read the profile: {exc.strerror}", "Check the file's permissions.",
                           file=file) from None


def decode_profile(raw: bytes, file: str) -> str:
    """The text of the profile ``file`` whose bytes are ``raw``."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProfileError(f"the profile is not UTF-8 text ({exc.reason})",
                           "Save the profile as UTF-8.", file=file) from None


def profile_file(path: str | os.PathLike[str]) -> str:
    """The absolute, normalised name under which a profile is loaded and reported."""
    return os.path.normpath(Path(path).expanduser().absolute())
