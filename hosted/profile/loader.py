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


def find_profile(path: str | os.PathLike[str] | None = None) -> Path:
    """The profile to use: ``path`` (a file, or a directory holding hosted.yaml), else ./hosted.yaml.

    A bundle made by ``hosted bundle`` is extracted once (every checksum verified)
    and its profile returned.
    """
    if path is not None:
        candidate = Path(path).expanduser()
        if candidate.is_dir():
            return _in_directory(candidate)
        if not candidate.exists():
            raise ProfileError(f"no profile at {candidate}", "Check the path given for the profile.",
                               file=str(candidate))
        from hosted.images.bundle import is_bundle, open_bundle

        if is_bundle(candidate):  # an offline bundle: its profile, extracted and verified
            return open_bundle(candidate.absolute())
        return candidate.absolute()
    return _in_directory(Path.cwd())


def _in_directory(directory: Path) -> Path:
    for name in DEFAULT_NAMES:
        candidate = directory / name
        if candidate.is_file():
            return candidate.absolute()
    raise ProfileError(
        f"no {DEFAULT_NAMES[0]} in {directory.absolute()}",
        "Run `hosted init` there to write a starter profile (`hosted init --list` shows the "
        "templates), or give the profile's path with -f.",
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
        machines=tuple(build.machine_spec(profile.name, m, images, len(machines) > 1) for m in machines),
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

