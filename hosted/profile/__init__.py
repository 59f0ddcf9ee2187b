"""YAML profile -> ``hosted.model.Environment``.

Reading keeps every key's file position, so that every problem is reported as
a ProfileError naming the file, the line and column, the key path and a hint.
The submodules (and pydantic) are imported on first use, and with ``cache=True`` only when the
compiled-profile cache does not hold the profile.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hosted.model import Environment
    from hosted.profile.locate import Located

__all__ = ["find_profile", "load_profile", "locate_profile", "profile_json_schema"]


def load_profile(path: str | os.PathLike[str], environ: Mapping[str, str] | None = None, *,
                 cache: bool = False) -> Environment:
    """Read and validate the profile at ``path``; ``${VAR}`` comes from ``environ`` (os.environ).

    ``cache``: take the result from the compiled-profile cache when nothing it depends on
    changed, else validate and keep it there (``hosted.profile.compiled``); a cache hit
    imports neither YAML nor pydantic."""
    if cache:
        from hosted.profile.compiled import load as cached

        return cached(path, environ)
    from hosted.profile.loader import load_profile as load

    return load(path, environ)


def find_profile(path: str | os.PathLike[str] | None = None,
                 environ: Mapping[str, str] | None = None, cwd: Path | None = None) -> Path:
    """``path`` if given (a file, a directory with hosted.yaml, or a bundle); else ``$HOSTED_FILE``;
    else hosted.yaml here or in the nearest parent directory that has one.

    A bundle's profile is validated (``${VAR}`` from ``environ``, default os.environ) before the
    extracted bundle is kept."""
    from hosted.profile.locate import find_profile as find

    return find(path, environ, cwd)


def locate_profile(path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None,
                   cwd: Path | None = None, *, allowed_signers: Path | None = None) -> Located:
    """``find_profile``, and for a bundle who signed it: ``Located(profile, bundle)`` where
    ``bundle.signer`` is the allowed signer whose good signature it carries (with
    ``allowed_signers``; a bad signature is BadSignature, exit 2), else None.  Pass the
    bundle to ``hosted.images.trust.require_trust`` before running anything from it."""
    from hosted.profile.locate import locate_profile as locate

    return locate(path, environ, cwd, allowed_signers=allowed_signers)


def profile_json_schema() -> dict[str, Any]:
    """The JSON Schema of the profile format, for ``hosted schema`` and editor plugins."""
    from hosted.profile.json_schema import profile_json_schema as schema

    return schema()
