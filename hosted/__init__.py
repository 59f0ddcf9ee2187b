"""hosted: turn a YAML profile into running VirtualBox machines.

The public library API is re-exported lazily so that ``import hosted`` (and
``hosted --help``) stays cheap.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "apply", "load_profile", "plan"]


def __getattr__(name: str) -> Any:
    if name == "load_profile":
        from hosted.profile import load_profile

        return load_profile
    if name == "plan":
        from hosted.plan import plan

        return plan
    if name == "apply":
        from hosted.apply import apply

        return apply
    raise AttributeError(name)
