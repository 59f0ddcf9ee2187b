"""Commands with stdout and stderr kept apart, and copying from the guest (no SFTP),
against a real sshd on loopback; the archive checks of a download without one."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from hosted.errors import SshError
from hosted.ssh import connect
from ssh.sshd import Sshd, client_key_fixture, sshd_fixture  # noqa: F401


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.sshd
def test_capture_keeps_streams_apart_with_status(sshd: Sshd, client_key: Path, tmp_path: Path) -> None:
    lines: list[str] = []
    with connect(sshd.target(client_key, tmp_path / "kh"), timeout=10) as session:
        got = session.capture('echo "out $A"; echo err >&2; printf tail; exit 5', env={"A": "1"},
                              on_output=lines.append)
        fed = session.capture("tr a-z A-Z", stdin=b"hello\n")
        merged = session.run("echo one; echo two >&2")  # provisioning's merged lines are unchanged
    assert (got.exit_status, got.stdout, got.stderr) == (5, b"out 1\ntail", b"err\n")
    assert sorted(lines) == ["err", "out 1", "tail"]
    assert (fed.exit_status, fed.stdout, fed.stderr) == (0, b"HELLO\n", b"")
    assert merged == (0, "one\ntwo")


@pytest.mark.sshd
def test_capture_reads_both_streams_as_they_fill(sshd: Sshd, client_key: Path, tmp_path: Path) -> None:
    # Far more than the channel window on each stream: reading only one would stall.
    script = "head -c 3000000 /dev/zero | tr '\\0' e >&2; head -c 3000000 /dev/zero | tr '\\0' o"
    with connect(sshd.target(client_key, tmp_path / "kh"), timeout=10) as session:
        got = session.capture(script, timeout=60)
    assert got.exit_status == 0
    assert (len(got.stdout), set(got.stdout)) == (3_000_000, {ord("o")})
    assert (len(got.stderr), set(got.stderr)) == (3_000_000, {ord("e")})


@pytest.mark.sshd
def test_capture_timeout(sshd: Sshd, client_key: Path, tmp_path: Path) -> None:
    began = time.monotonic()
    with connect(sshd.target(client_key, tmp_path / "kh"), timeout=10) as session, \
            pytest.raises(SshError, match="still running after 1 s"):
        session.capture("sleep 5", timeout=1)
    assert time.monotonic() - began < 4


@pytest.mark.sshd
def test_download_file_and_directory(sshd: Sshd, client_key: Path, tmp_path: Path) -> None:
    guest = tmp_path / "guest"
    (guest / "tree" / "sub").mkdir(parents=True)
    (guest / "tree" / "run.sh").write_text("#!/bin/sh\n")
    (guest / "tree" / "run.sh").chmod(0o750)
    (guest / "tree" / "sub" / "data").write_bytes(os.urandom(200_000))
    (guest / "tree" / "link").symlink_to("/etc/passwd")
    (guest / "one.txt").write_text("one\n")
    (guest / "one.txt").chmod(0o640)
    local = tmp_path / "local"
    (local / "into").mkdir(parents=True)
    with connect(sshd.target(client_key, tmp_path / "kh"), timeout=10) as session:
        assert session.download(str(guest / "one.txt"), local / "copy.txt") == local / "copy.txt"
        assert session.download(str(guest / "one.txt"), local / "into") == local / "into" / "one.txt"
        assert session.download(str(guest / "tree"), local / "tree") == local / "tree"
        with pytest.raises(SshError, match=r"cannot copy .*missing: .*missing: no such file or directory"):
            session.download(str(guest / "missing"), local / "x")
    assert (local / "copy.txt").read_text() == "one\n" and _mode(local / "copy.txt") == 0o640
    assert (local / "into" / "one.txt").read_text() == "one\n"
    assert _mode(local / "tree" / "run.sh") == 0o750
    assert (local / "tree" / "sub" / "data").read_bytes() == (guest / "tree" / "sub" / "data").read_bytes()
    # A link in the guest is followed, as scp does: its target's contents arrive as a plain file.
    assert not (local / "tree" / "link").is_symlink()
    assert (local / "tree" / "link").read_bytes() == Path("/etc/passwd").read_bytes()
