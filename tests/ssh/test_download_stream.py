"""The download side of file copy, without a server: the tar stream a guest's ``tar -c -h``
sends is unpacked where the destination says, with modes kept, and nothing a hostile guest
puts in it lands outside the destination (no sshd needed; tests/ssh/test_session.py and
tests/cli/test_cp.py copy through a real one)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from hosted.errors import SshError
from hosted.ssh.transfer import receive, send_command


def stream(*members: tuple[str, str, bytes | str]) -> io.BytesIO:
    """A tar of (name, type, data): type "f" file (data), "d" directory, "l" symlink (data: target),
    "c" character device."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, kind, data in members:
            info = tarfile.TarInfo(name)
            if kind == "f":
                assert isinstance(data, bytes)
                info.size, info.mode = len(data), 0o755 if name.endswith(".sh") else 0o644
                tar.addfile(info, io.BytesIO(data))
                continue
            info.type = {"d": tarfile.DIRTYPE, "l": tarfile.SYMTYPE, "c": tarfile.CHRTYPE}[kind]
            info.mode = 0o755
            if kind == "l":
                assert isinstance(data, str)
                info.linkname = data
            tar.addfile(info)
    buf.seek(0)
    return buf


TREE = (("./etc", "d", b""), ("./etc/app.conf", "f", b"port=80\n"), ("./etc/sub", "d", b""),
        ("./etc/sub/run.sh", "f", b"#!/bin/sh\n"))


@pytest.mark.parametrize(("remote", "command", "top"), [
    ("/etc/hosts", "cd -- /etc && tar -c -h -f - ./hosts", "hosts"),
    ("/srv/my app/", "cd -- /srv && tar -c -h -f - './my app'", "my app"),  # the directory itself
    ("notes.txt", "cd -- . && tar -c -h -f - ./notes.txt", "notes.txt"),
    ("/", "cd -- / && tar -c -h -f - .", "."),
    ("", "cd -- . && tar -c -h -f - .", "."),
])
def test_send_command(remote: str, command: str, top: str) -> None:
    sent, sent_top = send_command(remote)
    check, _, rest = sent.partition("; exit 2; }; ")
    assert (rest, sent_top) == (command, top)
    assert check.startswith("[ -e ") and "no such file or directory" in check


def test_a_file_to_a_new_name_and_into_a_directory(tmp_path: Path) -> None:
    assert receive(stream(("./hosts", "f", b"127.0.0.1 localhost\n")), "hosts", tmp_path / "h") == \
        tmp_path / "h"
    assert (tmp_path / "h").read_bytes() == b"127.0.0.1 localhost\n"
    assert receive(stream(("./hosts", "f", b"new\n")), "hosts", tmp_path) == tmp_path / "hosts"
    assert receive(stream(("./run.sh", "f", b"x")), "run.sh", tmp_path / "h") == tmp_path / "h", \
        "an existing file is replaced"
    assert (tmp_path / "h").read_bytes() == b"x" and (tmp_path / "h").stat().st_mode & 0o777 == 0o755


def test_a_directory_becomes_the_destination_or_goes_into_it(tmp_path: Path) -> None:
    assert receive(stream(*TREE), "etc", tmp_path / "copy") == tmp_path / "copy"
    assert (tmp_path / "copy" / "app.conf").read_bytes() == b"port=80\n"
    assert (tmp_path / "copy" / "sub" / "run.sh").stat().st_mode & 0o777 == 0o755
    (tmp_path / "into").mkdir()
    assert receive(stream(*TREE), "etc", tmp_path / "into") == tmp_path / "into" / "etc"
    with pytest.raises(SshError, match="no such directory"):
        receive(stream(*TREE), "etc", tmp_path / "new", into=True)
    (tmp_path / "new").mkdir()
    assert receive(stream(*TREE), "etc", tmp_path / "new", into=True) == tmp_path / "new" / "etc"
    assert (tmp_path / "new" / "etc" / "sub" / "run.sh").is_file()


def test_a_directory_s_contents(tmp_path: Path) -> None:
    contents = stream((".", "d", b""), ("./a", "f", b"1"), ("./b", "d", b""), ("./b/c", "f", b"2"))
    assert receive(contents, ".", tmp_path / "home") == tmp_path / "home"
    assert (tmp_path / "home" / "b" / "c").read_bytes() == b"2"


def test_a_file_over_a_directory_or_a_directory_over_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("mine")
    with pytest.raises(SshError, match="exists and is not a directory"):
        receive(stream(*TREE), "etc", tmp_path / "file")
    assert (tmp_path / "file").read_text() == "mine"


@pytest.mark.parametrize(("members", "message"), [
    ((("./etc", "d", b""), ("./etc/../../evil", "f", b"x")), "outside"),
    ((("./etc", "d", b""), ("/tmp/evil", "f", b"x")), "not under 'etc'"),
    ((("./etc", "d", b""), ("./other/evil", "f", b"x")), "not under 'etc'"),
    ((("./etc", "d", b""), ("./etc/link", "l", "/etc/passwd")), "refused"),
    ((("./etc", "d", b""), ("./etc/link", "l", "../../outside")), "refused"),
    ((("./etc", "d", b""), ("./etc/tty", "c", b"")), "refused"),
])
def test_nothing_lands_outside_the_copy(tmp_path: Path, members: tuple[tuple[str, str, bytes | str], ...],
                                        message: str) -> None:
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(SshError, match=message):
        receive(stream(*members), "etc", dest / "copy")
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["copy", "dest"]


def test_setuid_and_setgid_bits_are_dropped(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("./tool")
        info.size, info.mode = 3, 0o6755
        tar.addfile(info, io.BytesIO(b"#!\n"))
    buf.seek(0)
    written = receive(buf, "tool", tmp_path / "tool")
    assert written.stat().st_mode & 0o7777 == 0o755
