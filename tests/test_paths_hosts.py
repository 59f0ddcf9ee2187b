"""hosted's folders and files on Windows and macOS hosts (issue 16, 4, 6 and 10), with those
platforms' rules simulated: Store Python's private copy of %LOCALAPPDATA%, Windows' 0777
folders and device names, renames another process holds up, the port lock."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from filelock import FileLock

from hosted import files, paths
from hosted.errors import ProfileError, UsageError
from hosted.ports import PortAllocator
from hosted.profile import load_profile

STORE = r"C:\Program Files\WindowsApps\PythonSoftwareFoundation.Python.3.12_3.12.2800.0_x64__qbz5n2kfra8p0"


@pytest.fixture
def no_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in (paths.DATA_VAR, paths.CACHE_VAR, paths.STATE_VAR, "XDG_RUNTIME_DIR"):
        monkeypatch.delenv(var, raising=False)


def test_hosted_dirs_are_chosen_by_hosted_variables_on_every_platform(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var, name in ((paths.DATA_VAR, "d"), (paths.CACHE_VAR, "c"), (paths.STATE_VAR, "s")):
        monkeypatch.setenv(var, str(tmp_path / name))
    for platform in ("linux", "darwin", "win32"):
        monkeypatch.setattr(paths.sys, "platform", platform)
        assert (paths.data_dir(), paths.cache_dir()) == (tmp_path / "d", tmp_path / "c")
    monkeypatch.setattr(paths.sys, "platform", "linux")
    assert paths.state_dir() == tmp_path / "s"
    monkeypatch.setenv(paths.DATA_VAR, "relative")  # only an absolute path counts
    assert paths.data_dir() != Path("relative")


@pytest.mark.parametrize(("places", "package"), [
    ((STORE,), "PythonSoftwareFoundation.Python.3.12_3.12.2800.0_x64__qbz5n2kfra8p0"),
    ((r"C:\Users\me\AppData\Local\Microsoft\WindowsApps\PythonSoftwareFoundation.Python.3.12_qbz5n2kfra8p0"
      r"\python.exe",), "PythonSoftwareFoundation.Python.3.12_qbz5n2kfra8p0"),
    ((r"C:\Users\me\AppData\Local\Programs\Python\Python312",), None),  # python.org's installer
    ((r"C:\Users\me\pipx\venvs\hosted", ""), None),
])
def test_store_python_is_recognised(places: tuple[str, ...], package: str | None) -> None:
    assert paths.store_python(places) == package


def test_store_python_keeps_hosted_files_outside_the_virtualised_appdata(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, no_overrides: None) -> None:
    """ssh.exe must read the key and pins, VBoxSVC cidata.iso and the images: outside AppData."""
    monkeypatch.setattr(paths.sys, "platform", "win32")
    monkeypatch.setattr(paths.sys, "base_prefix", STORE)
    monkeypatch.setattr(Path, "home", lambda: tmp_path / "me")
    assert paths.data_dir() == tmp_path / "me" / ".hosted" / "data"
    assert paths.cache_dir() == tmp_path / "me" / ".hosted" / "cache"
    assert paths.state_dir() == tmp_path / "me" / ".hosted" / "state"
    assert "AppData" not in str(paths.machine_dir("lab", "web"))
    # ssh-keygen reads the signature it verifies from a temporary file: not in the private %TEMP%
    assert paths.scratch_dir() == tmp_path / "me" / ".hosted" / "state" / "tmp"


def test_elsewhere_temporary_files_go_to_the_systems_folder(no_overrides: None) -> None:
    assert paths.scratch_dir() is None


def test_a_windows_folder_is_not_refused_for_the_0777_windows_reports(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    folder = tmp_path / "state"
    folder.mkdir()
    folder.chmod(0o777)  # what os.stat says of every folder on Windows
    monkeypatch.setattr(paths.sys, "platform", "win32")
    assert paths.private_dir(folder) == folder
    monkeypatch.setattr(paths.sys, "platform", "linux")
    with pytest.raises(paths.UnsafePath, match="others can write"):
        paths.private_dir(folder)


@pytest.mark.parametrize("name", ["con", "CON", "nul", "aux", "prn", "com1", "LPT9", "nul.txt", "con.lab",
                                  "web."])
def test_names_windows_cannot_have_as_folders_are_refused(name: str) -> None:
    with pytest.raises(UsageError) as info:
        paths.machine_dir("lab", name)
    assert "Windows" in info.value.message or "dot" in info.value.message


@pytest.mark.parametrize("name", ["console", "nullable", "com10", "auxiliary", "web.lab", "lpt"])
def test_names_that_only_look_like_devices_are_fine(name: str) -> None:
    assert paths.machine_dir("lab", name).name == name


def test_a_profile_naming_a_machine_con_is_refused_where_it_is_written(tmp_path: Path) -> None:
    profile = tmp_path / "hosted.yaml"
    profile.write_text("version: 1\nname: lab\nmachines:\n  web: {}\n  con: {}\n", encoding="utf-8")
    with pytest.raises(ProfileError) as info:
        load_profile(profile)
    assert info.value.line == 5 and "device name on Windows" in info.value.message and info.value.hint


def sharing_violation() -> PermissionError:
    exc = PermissionError(13, "The process cannot access the file: it is being used by another process")
    exc.winerror = 32  # type: ignore[attr-defined]  # what Windows sets
    return exc


def test_a_replace_another_process_holds_up_is_tried_again(monkeypatch: pytest.MonkeyPatch,
                                                           tmp_path: Path) -> None:
    (tmp_path / "new").write_text("new", encoding="utf-8")
    (tmp_path / "old").write_text("old", encoding="utf-8")
    attempts: list[int] = []
    real = os.replace

    def held_twice(src: str, dst: str) -> None:
        attempts.append(1)
        if len(attempts) < 3:
            raise sharing_violation()  # an antivirus scanner reading the file
        real(src, dst)

    monkeypatch.setattr(os, "replace", held_twice)
    slept: list[float] = []
    files.replace(tmp_path / "new", tmp_path / "old", sleep=slept.append)
    assert (tmp_path / "old").read_text(encoding="utf-8") == "new"
    assert len(attempts) == 3 and slept == [files.FIRST_PAUSE, files.FIRST_PAUSE * 2]


def test_retrying_is_bounded_and_only_for_windows_sharing_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [0.0]

    def always(src: str, dst: str) -> None:
        raise sharing_violation()

    monkeypatch.setattr(os, "replace", always)
    with pytest.raises(PermissionError):
        files.replace("a", "b", sleep=lambda s: now.__setitem__(0, now[0] + s), clock=lambda: now[0])
    assert files.PATIENCE - files.MAX_PAUSE <= now[0] <= files.PATIENCE
    calls: list[int] = []

    def denied(src: str, dst: str) -> None:
        calls.append(1)
        raise PermissionError(13, "Permission denied")  # Unix: a real permission problem

    monkeypatch.setattr(os, "replace", denied)
    with pytest.raises(PermissionError):
        files.replace("a", "b", sleep=lambda s: None)
    assert calls == [1]


def test_the_port_lock_is_released_and_not_hand_written_in_ports(tmp_path: Path) -> None:
    """The Windows fallback raised after ~10 s and never unlocked: the lock is hosted.flock's (the
    filelock library's on Windows, tests/test_flock.py), and filelock's lock sees it free again."""
    allocator = PortAllocator(state_dir=tmp_path, port_range=(47300, 47399))
    first = allocator.allocate("127.0.0.1", set())
    lock = FileLock(tmp_path / "ports.lock")
    lock.acquire(timeout=0)  # free again at once, from another lock object as from another process
    lock.release()
    assert allocator.allocate("127.0.0.1", set()) != first
    assert "fcntl" not in Path(sys.modules["hosted.ports"].__file__ or "").read_text(encoding="utf-8")

