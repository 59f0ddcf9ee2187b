"""hosted.paths: XDG on Linux, the platform's own directories elsewhere."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from hosted import paths
from hosted.errors import UsageError


@pytest.fixture(autouse=True)
def platform_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    """The platform's own rules, without the test suite's HOSTED_*_DIR (tests/conftest.py)."""
    for var in (paths.DATA_VAR, paths.CACHE_VAR, paths.STATE_VAR):
        monkeypatch.delenv(var, raising=False)


def test_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(paths.sys, "platform", "linux")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "d"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "c"))
    assert paths.data_dir() == tmp_path / "d" / "hosted"
    assert paths.cache_dir() == tmp_path / "c" / "hosted"
    assert paths.machine_dir("env", "web") == tmp_path / "d/hosted/environments/env/machines/web"


def test_xdg_defaults_ignore_relative(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(paths.sys, "platform", "linux")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_DATA_HOME", "relative/dir")
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert paths.data_dir() == tmp_path / ".local/share/hosted"
    assert paths.cache_dir() == tmp_path / ".cache/hosted"


def test_macos(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_DATA_HOME")  # platformdirs honours XDG_* on macOS too
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setattr(paths.sys, "platform", "darwin")
    assert paths.data_dir() == tmp_path / "Library/Application Support/hosted"
    assert paths.cache_dir() == tmp_path / "Library/Caches/hosted"


@pytest.mark.skipif(sys.platform != "win32", reason="platformdirs asks Windows itself for the folders")
def test_windows(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "Local"))
    assert paths.data_dir().parts[-1] == "hosted"
    assert paths.cache_dir().parts[-2:] == ("hosted", "Cache")


@pytest.mark.parametrize("bad", ["", ".", "..", "a/b", "a\\b"])
def test_names_are_single_components(bad: str) -> None:
    with pytest.raises(UsageError):
        paths.environment_dir(bad)
    with pytest.raises(UsageError):
        paths.machine_dir("env", bad)


def test_ssh_target_for_a_machine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from hosted.model import SshSpec
    from hosted.ssh import known_hosts_path, target_for

    monkeypatch.setattr(paths.sys, "platform", "linux")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    target = target_for("env", "web", "127.0.0.1", 2222, SshSpec(user="admin"))
    assert target.private_key == tmp_path / "hosted/environments/env/ssh/id_ed25519"
    assert target.known_hosts == known_hosts_path("env", "web")
    assert target.known_hosts == paths.machine_dir("env", "web") / "known_hosts"
    assert (target.user, target.label, target.host_key_alias) == ("admin", "env/web", "hosted-env-web")
    own = target_for("env", "db", "127.0.0.1", 2223, SshSpec(private_key="/keys/id_rsa"))
    assert own.private_key == Path("/keys/id_rsa")
