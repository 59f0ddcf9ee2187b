"""The types of the profile tests' fixtures (tests/profile/conftest.py).

A module of its own, not ``from conftest import``: several test directories have a
conftest.py, and which one that name means depends on what pytest imported first.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from hosted.errors import ProfileError
from hosted.model import Environment

Write = Callable[[str], Path]
Load = Callable[..., Environment]
Reject = Callable[..., ProfileError]
