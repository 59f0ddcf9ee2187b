"""YAML profile -> ``hosted.model.Environment``.

Reading keeps every key's file position, so that every problem is reported as
a ProfileError naming the file, the line and column, the key path and a hint.
The submodules (and pydantic) are imported on first use.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hosted.model import Environment

__all__ = ["find_profile", "load_profile", "profile_json_schema"]


def load_profile(path: str | os.PathLike[str], environ: Mapping[str, str] | None = None) -> Environment:
    """Read and validate the profile at ``path``; ``${VAR}`` comes from ``environ`` (os.environ)."""
    from hosted.profile.loader import load_profile as load

    return load(path, environ)


def find_profile(path: str | os.PathLike[str] | None = None,
                 environ: Mapping[str, str] | None = None, cwd: Path | None = None) -> Path:
    """``path`` if given (a file, a directory with hosted.yaml, or a bundle); else ``$HOSTED_FILE``;
    else hosted.yaml here or in the nearest parent directory that has one."""
    from hosted.profile.loader import find_profile as find

    return find(path, environ, cwd)


def profile_json_schema() -> dict[str, Any]:
    """The JSON Schema of the profile format, for ``hosted schema`` and editor plugins."""
    from hosted.profile.json_schema import profile_json_schema as schema

    return schema()
