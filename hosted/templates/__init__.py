"""Starter profiles that ``hosted init`` writes: commented YAML files shipped as package data.

Each template is ``<name>.yaml`` in this package; its first line reads
``# <name>: <one-line summary>``.
"""

from __future__ import annotations

from importlib import resources

DEFAULT = "ubuntu-24.04"


def names() -> list[str]:
    """Every template's name, sorted."""
    return sorted(entry.name.removesuffix(".yaml") for entry in resources.files(__name__).iterdir()
                  if entry.name.endswith(".yaml"))


def text(name: str) -> str:
    """The template's YAML as shipped; KeyError for an unknown name."""
    if name not in names():
        raise KeyError(name)
    return resources.files(__name__).joinpath(f"{name}.yaml").read_text(encoding="utf-8")


def summary(name: str) -> str:
    """The one-line summary on the template's first line."""
    first = text(name).split("\n", 1)[0]
    return first.removeprefix("#").strip().removeprefix(f"{name}:").strip()
