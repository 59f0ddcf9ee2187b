"""Defect 3: no predictable /tmp names; the state directory is the user's own; nothing follows a
planted symlink; the locks are flock's (hosted.flock), which filelock's see."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest

from hosted import paths
from hosted.ports import PortAllocator, default_state_dir


@pytest.fixture
def no_runtime_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No XDG_RUNTIME_DIR (as over ssh or cron), and /tmp moved to where the test can look."""
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.delenv("HOSTED_STATE_DIR", raising=False)  # the rules below it are what is tested
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state-home"))
    shared = tmp_path / "tmp"
    shared.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(shared))
    return shared


def test_without_xdg_runtime_dir_the_state_is_in_the_users_own_directory(no_runtime_dir: Path,
                                                                        tmp_path: Path) -> None:
    state = default_state_dir()
    assert state == tmp_path / "state-home" / "hosted"
    assert not state.is_relative_to(no_runtime_dir) and not list(no_runtime_dir.iterdir())
    assert state.stat().st_mode & 0o777 == 0o700


def test_a_state_dir_of_another_user_is_refused(no_runtime_dir: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    planted = tmp_path / "state-home" / "hosted"
    planted.mkdir(parents=True, mode=0o700)
    real_uid = os.getuid()
    monkeypatch.setattr(os, "getuid", lambda: real_uid + 4242)  # the directory is now someone else's
    with pytest.raises(paths.UnsafePath) as info:
        paths.state_dir()
    assert "belongs to another user" in info.value.message and info.value.hint


def test_a_world_writable_or_linked_state_dir_is_refused(no_runtime_dir: Path, tmp_path: Path) -> None:
    planted = tmp_path / "state-home" / "hosted"
    planted.mkdir(parents=True)
    planted.chmod(0o777)
    with pytest.raises(paths.UnsafePath, match="others can write"):
        paths.state_dir()
    planted.rmdir()
    (tmp_path / "elsewhere").mkdir(mode=0o700)
    planted.symlink_to(tmp_path / "elsewhere")
    with pytest.raises(paths.UnsafePath, match="symbolic link"):
        paths.state_dir()


def test_an_xdg_runtime_dir_others_can_write_is_not_used(no_runtime_dir: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o777)
    runtime.chmod(0o777)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    assert paths.state_dir() == tmp_path / "state-home" / "hosted"


def test_a_planted_ports_tmp_symlink_is_never_followed(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    victim = tmp_path / "victim"
    victim.write_text("precious")
    (state / "ports.tmp").symlink_to(victim)
    (state / "ports.lock").symlink_to(victim)
    alloc = PortAllocator(state, (47100, 47199))
    with pytest.raises(paths.UnsafePath, match="cannot lock"):  # never opened through a symlink
        alloc.allocate("127.0.0.1", ())
    (state / "ports.lock").unlink()
    port = alloc.allocate("127.0.0.1", ())
    assert victim.read_text() == "precious"
    assert str(port) in json.loads((state / "ports.json").read_text())


def test_the_debug_log_is_private_and_never_follows_a_link(tmp_path: Path) -> None:
    log = tmp_path / "debug.log"
    with paths.open_private(log) as fh:
        fh.write("one\n")
    assert log.stat().st_mode & 0o777 == 0o600
    log.chmod(0o644)
    with paths.open_private(log) as fh:
        fh.write("two\n")
    assert log.read_text() == "one\ntwo\n" and log.stat().st_mode & 0o777 == 0o600
    victim = tmp_path / "victim"
    victim.write_text("precious")
    (tmp_path / "linked.log").symlink_to(victim)
    with pytest.raises(paths.UnsafePath):
        paths.open_private(tmp_path / "linked.log")
    assert victim.read_text() == "precious"


def test_the_debug_log_path_is_in_the_state_dir(no_runtime_dir: Path) -> None:
    assert paths.debug_log_path() == paths.state_dir() / "debug.log"
    assert not paths.debug_log_path().is_relative_to(no_runtime_dir)


def test_the_image_cache_lock_is_seen_by_filelock(tmp_path: Path) -> None:
    from filelock import FileLock, Timeout

    from hosted.images import locks

    lock_file = tmp_path / "locks" / "x.lock"
    with locks.held(lock_file):
        other = FileLock(lock_file)
        with pytest.raises(Timeout):  # another process's filelock sees it held
            other.acquire(timeout=0)
    other.acquire(timeout=0)
    other.release()
