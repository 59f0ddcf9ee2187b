"""Validate a profile and build its ``hosted.model.Environment`` (YAML, pydantic and the schema)."""

from __future__ import annotations

import os
from collections.abc import Mapping

from hosted import model
from hosted.errors import ProfileError
from hosted.profile import build, checks, exposure
from hosted.profile.expand import expand
from hosted.profile.locate import (
    DEFAULT_NAMES,
    ENV_VARIABLE,
    MAX_PROFILE_BYTES,
    Located,
    decode_profile,
    find_profile,
    locate_profile,
    profile_file,
    read_profile,
)
from hosted.profile.source import parse
from hosted.profile.validate import validate

# Finding and reading live in the light hosted.profile.locate; named here too, as before.
__all__ = ["DEFAULT_NAMES", "ENV_VARIABLE", "MAX_PROFILE_BYTES", "Located", "find_profile", "load_bytes",
           "load_profile", "locate_profile"]


def load_profile(path: str | os.PathLike[str], environ: Mapping[str, str] | None = None) -> model.Environment:
    """Read and validate the profile at ``path``.

    On any problem, raise the first one in file order as a ProfileError whose
    ``problems`` lists every one found.  Stages that later ones depend on stop
    the run: reading and YAML syntax, variables, ``version``, then the schema;
    the checks across keys run only on a profile whose every value is valid.
    """
    file = profile_file(path)
    return load_bytes(file, read_profile(file), os.environ if environ is None else environ)


def load_bytes(file: str, raw: bytes, environ: Mapping[str, str]) -> model.Environment:
    """``load_profile`` of the profile ``file`` (absolute, normalised) whose bytes are ``raw``."""
    doc = parse(decode_profile(raw, file), file, environ)
    expand(doc, environ)
    profile = validate(doc)
    machines = [build.Merged(name, own, profile.defaults) for name, own in profile.machines.items()]
    images = build.all_images(profile.images or {}, machines)
    problems = checks.check(doc, profile.name, machines, images)
    problems += checks.check_labs(doc, machines, profile.ansible or [])
    problems += exposure.sensitive_paths(doc, machines)
    if problems:
        raise ProfileError.of_all(problems)
    specs = tuple(build.machine_spec(profile.name, m, images, len(machines) > 1) for m in machines)
    passwords = [m.install.password for m in specs if m.install is not None and m.install.password]
    secrets = exposure.secrets(profile.secrets, doc.variables, passwords)
    leaks = list(exposure.secrets_in_names(doc, machines, profile.ansible or [], secrets))
    if leaks:
        raise ProfileError.of_all(leaks)
    return model.Environment(
        name=profile.name,
        path=file,
        machines=specs,
        images=tuple(build.image_spec(name, image) for name, image in images.items()),
        warnings=tuple(exposure.warnings(doc, machines)),
        ansible=tuple(build.ansible_run(i, a) for i, a in enumerate(profile.ansible or ())),
        includes=tuple(doc.includes),
        secrets=secrets,
    )
