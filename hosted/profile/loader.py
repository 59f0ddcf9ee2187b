"""Find, read, validate and build a profile."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from hosted import model
from hosted.errors import ProfileError
from hosted.profile import build, checks
from hosted.profile.source import parse
from hosted.profile.validate import validate

DEFAULT_NAMES = ("hosted.yaml", "hosted.yml")
ENV_VARIABLE = "HOSTED_FILE"  # the profile, when no -f is given


def find_profile(path: str | os.PathLike[str] | None = None,
                 environ: Mapping[str, str] | None = None, cwd: Path | None = None) -> Path:
    """The profile to use: ``path`` (a file, or a directory holding hosted.yaml); else the
    ``HOSTED_FILE`` environment variable; else hosted.yaml in the current directory or the
    nearest parent directory that has one (as git and Vagrant look for theirs).

    A bundle made by ``hosted bundle`` is extracted once (every checksum verified)
    and its profile returned.
    """
    environ = os.environ if environ is None else environ
    start = (cwd or Path.cwd()).absolute()
    if path is None and environ.get(ENV_VARIABLE):
        path = environ[ENV_VARIABLE]
    if path is not None:
        candidate = Path(path).expanduser()
        if not candidate.is_absolute():
            candidate = start / candidate
        if candidate.is_dir():
            return _in_directory(candidate)
        if not candidate.exists():
            via = f" (from {ENV_VARIABLE})" if path == environ.get(ENV_VARIABLE) else ""
            raise ProfileError(f"no profile at {candidate}{via}", "Check the path given for the profile.",
                               file=str(candidate))
        from hosted.images.bundle import is_bundle, open_bundle

        if is_bundle(candidate):  # an offline bundle: its profile, extracted and verified
            return open_bundle(candidate.absolute())
        return candidate.absolute()
    for directory in (start, *start.parents):
        found = _named(directory)
        if found is not None:
            return found
    return _in_directory(start)


def _named(directory: Path) -> Path | None:
    for name in DEFAULT_NAMES:
        candidate = directory / name
        try:
            if candidate.is_file():
                return candidate.absolute()
        except OSError:  # an unreadable directory on the way up
            return None
    return None


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


def load_profile(path: str | os.PathLike[str], environ: Mapping[str, str] | None = None) -> model.Environment:
    """Read and validate the profile at ``path``.

    On any problem, raise the first one in file order as a ProfileError whose
    ``problems`` lists every one found.  Stages that later ones depend on stop
    the run: reading and YAML syntax, variables, ``version``, then the schema;
    the checks across keys run only on a profile whose every value is valid.
    """
    file = os.path.normpath(Path(path).expanduser().absolute())
    doc = parse(_read(file), file, os.environ if environ is None else environ)
    profile = validate(doc)
    machines = [build.Merged(name, own, profile.defaults) for name, own in profile.machines.items()]
    images = profile.images or {}
    problems = checks.check(doc, profile.name, machines, images)
    if problems:
        raise ProfileError.of_all(problems)
    return model.Environment(
        name=profile.name,
        path=file,
        machines=tuple(build.machine_spec(profile.name, m, images) for m in machines),
        images=tuple(build.image_spec(name, image) for name, image in images.items()),
    )


def _read(file: str) -> str:
    try:
        with open(file, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        raise ProfileError(f"no profile at {file}", "Check the path given for the profile.",
                           file=file) from None
    except IsADirectoryError:
        raise ProfileError(f"{file} is a directory, not a profile",
                           "Give the path of the profile file itself.", file=file) from None
    except UnicodeDecodeError as exc:
        raise ProfileError(f"the profile is not UTF-8 text ({exc.reason})",
                           "Save the profile as UTF-8.", file=file) from None
    except OSError as exc:
        raise ProfileError(f"cannot read the profile: {exc.strerror}", "Check the file's permissions.",
                           file=file) from None

