"""Files uploaded from Windows, and the run-once fingerprint on every host (issue 16, 5).

Windows has no mode bits: every writable file says 0666 and every directory 0777.  Uploaded
as they are, a guest would get world-writable files; hashed as they are, the fingerprint of
the same files would differ between a Windows and a Linux host (and between two Linux hosts
with different umasks), and so would the paths of the files.
"""

from __future__ import annotations

import io
import stat
import tarfile
from pathlib import Path

import pytest

from hosted.model import ProvisionStep
from hosted.provisioning import step_fingerprint
from hosted.ssh import transfer


def lab(root: Path, mode: int) -> Path:
    """A profile's directory with a script and a tree to copy, its files of ``mode``."""
    (root / "files" / "bin").mkdir(parents=True)
    (root / "setup.sh").write_bytes(b"#!/bin/sh\necho hi\n")
    (root / "files" / "motd").write_bytes(b"welcome\n")
    (root / "files" / "bin" / "tool").write_bytes(b"#!/bin/sh\nexit 0\n")
    for path in (root / "setup.sh", root / "files" / "motd", root / "files" / "bin" / "tool"):
        path.chmod(mode)
    return root


def fingerprints(root: Path) -> tuple[str, str]:
    script = ProvisionStep(kind="shell", name="setup", script=str(root / "setup.sh"))
    copy = ProvisionStep(kind="file", name="files", source=str(root / "files"), destination="/srv/files")
    return step_fingerprint(script), step_fingerprint(copy)


def test_the_fingerprint_is_the_same_whatever_the_modes_and_the_folder(tmp_path: Path) -> None:
    linux = fingerprints(lab(tmp_path / "home" / "me" / "lab", 0o644))
    umask_002 = fingerprints(lab(tmp_path / "other" / "lab", 0o664))
    windows = fingerprints(lab(tmp_path / "Users" / "me" / "lab", 0o666))  # what Windows reports
    assert linux == umask_002 == windows


def test_a_windows_path_counts_by_its_name() -> None:
    here = ProvisionStep(kind="shell", name="setup", script="/home/me/lab/setup.sh")
    there = ProvisionStep(kind="shell", name="setup", script=r"C:\Users\me\lab\setup.sh")
    assert step_fingerprint(here) == step_fingerprint(there)  # neither file exists: names only


def test_the_content_still_counts(tmp_path: Path) -> None:
    root = lab(tmp_path, 0o644)
    before = fingerprints(root)
    (root / "files" / "bin" / "tool").write_bytes(b"#!/bin/sh\nexit 1\n")
    after = fingerprints(root)
    assert before[0] == after[0] and before[1] != after[1]


@pytest.fixture
def from_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transfer, "_windows", lambda: True)


def test_a_file_from_windows_is_0644_or_0755_when_it_is_a_script(tmp_path: Path, from_windows: None) -> None:
    root = lab(tmp_path, 0o666)
    assert transfer.guest_mode(root / "files" / "motd") == 0o644
    assert transfer.guest_mode(root / "setup.sh") == 0o755
    assert "chmod 0644 " in transfer.file_command(root / "files" / "motd", "/etc/motd")


def test_a_tree_from_windows_has_no_world_writable_entry(tmp_path: Path, from_windows: None) -> None:
    root = lab(tmp_path, 0o666)
    (root / "files" / "bin").chmod(0o777)
    sent = io.BytesIO()
    transfer.send_tree(root / "files", sent.write)
    sent.seek(0)
    with tarfile.open(fileobj=sent) as tar:
        modes = {m.name: stat.S_IMODE(m.mode) for m in tar.getmembers()}
    assert modes == {"bin": 0o755, "bin/tool": 0o755, "motd": 0o644}


def test_elsewhere_modes_are_the_files_own(tmp_path: Path) -> None:
    root = lab(tmp_path, 0o640)
    assert transfer.guest_mode(root / "files" / "motd") == 0o640
    assert "chmod 0640 " in transfer.file_command(root / "files" / "motd", "/etc/motd")
