"""Fixtures for profile tests: a profile directory with the files profiles refer to.

(No ``__init__.py`` here: as a package this directory would be importable as
``profile`` and shadow the standard library module of that name.)
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path

import pytest
from profile_types import Load, Reject, Write

from hosted.errors import ProfileError
from hosted.model import Environment
from hosted.profile import load_profile


@pytest.fixture
def profile_dir(tmp_path: Path) -> Path:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "README").write_text("shared\n")
    (tmp_path / "disk.iso").write_bytes(b"\0" * 16)
    (tmp_path / "id_test").write_text("not a real key\n")
    (tmp_path / "setup.sh").write_text("#!/bin/sh\ntrue\n")
    return tmp_path


@pytest.fixture
def write(profile_dir: Path) -> Write:
    def write(text: str) -> Path:
        path = profile_dir / "hosted.yaml"
        path.write_text(textwrap.dedent(text).lstrip("\n"))
        return path

    return write


@pytest.fixture
def load(write: Write) -> Load:
    def load(text: str, environ: Mapping[str, str] | None = None) -> Environment:
        return load_profile(write(text), environ if environ is not None else {})

    return load


@pytest.fixture
def reject(write: Write) -> Reject:
    def reject(text: str, environ: Mapping[str, str] | None = None) -> ProfileError:
        path = write(text)
        with pytest.raises(ProfileError) as info:
            load_profile(path, environ if environ is not None else {})
        err = info.value
        assert err.file == str(path), "every profile error names the file"
        assert err.hint, "every profile error has a hint"
        assert str(err).startswith(str(path)), "the message starts with the file name"
        return err

    return reject
