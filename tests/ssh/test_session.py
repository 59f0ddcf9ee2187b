"""hosted.ssh sessions against a real sshd on loopback."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import time
from pathlib import Path

import paramiko
import pytest

from hosted.errors import HostKeyMismatch, SshError
from hosted.ssh import (
    SshConnectFailed,
    connect,
    fingerprint,
    forget_host_key,
    pin_host_keys,
    read_pins,
)
from ssh.sshd import Listener, Sshd, client_key_fixture, free_port, sshd_fixture, target_at  # noqa: F401

pytestmark = pytest.mark.sshd


def test_key_login_pins_host_key_on_first_contact(sshd: Sshd, client_key: Path, tmp_path: Path) -> None:
    known = tmp_path / "m" / "known_hosts"
    target = sshd.target(client_key, known)
    with connect(target, timeout=10) as session:
        status, out = session.run("echo hello; id -un")
    assert (status, out) == (0, "hello\nroot")
    pins = read_pins(known, target.host_key_alias)
    assert [p.describe() for p in pins] == [f"ssh-ed25519 {_host_fp(sshd)}"]
    with connect(target, timeout=10):  # the pinned key is accepted again
        pass
    assert len(read_pins(known, target.host_key_alias)) == 1


def test_changed_host_key_is_refused(sshd: Sshd, client_key: Path, tmp_path: Path) -> None:
    target = sshd.target(client_key, tmp_path / "known_hosts", label="env/web")
    connect(target, timeout=10).close()
    old = _host_fp(sshd)
    sshd.restart_with_new_host_key()
    with pytest.raises(HostKeyMismatch) as err:
        connect(target, timeout=10)
    assert "env/web" in err.value.message
    assert old in err.value.message and _host_fp(sshd) in err.value.message
    assert "forget_host_key" in err.value.hint and "hosted destroy" in err.value.hint
    assert forget_host_key(target.known_hosts, target.host_key_alias) == 1
    connect(target, timeout=10).close()  # re-pinned after forgetting


def test_pre_pinned_keys_accept_and_refuse(sshd: Sshd, client_key: Path, tmp_path: Path) -> None:
    target = sshd.target(client_key, tmp_path / "known_hosts")
    other = tmp_path / "other"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    assert pin_host_keys(target.known_hosts, target.host_key_alias,
                         [(other.with_suffix(".pub")).read_text()]) == 1
    with pytest.raises(HostKeyMismatch):
        connect(target, timeout=10)
    forget_host_key(target.known_hosts)
    assert pin_host_keys(target.known_hosts, target.host_key_alias,
                         sshd.host_public_key().splitlines()) == 1
    connect(target, timeout=10).close()
    assert len(read_pins(target.known_hosts, target.host_key_alias)) == 1


def test_wrong_client_key_is_a_clear_auth_error(sshd: Sshd, tmp_path: Path) -> None:
    stranger = tmp_path / "stranger"
    subprocess.run(["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", str(stranger)],
                   check=True)
    with pytest.raises(SshConnectFailed) as err:
        connect(sshd.target(stranger, tmp_path / "known_hosts"), timeout=10)
    assert err.value.reason == "auth"
    assert "refused key login as 'root'" in err.value.message and str(stranger) in err.value.message


def test_rsa_client_key_logs_in(sshd: Sshd, tmp_path: Path) -> None:
    rsa = tmp_path / "rsa"
    subprocess.run(["ssh-keygen", "-q", "-t", "rsa", "-b", "3072", "-N", "", "-f", str(rsa)], check=True)
    sshd.authorize(rsa)
    with connect(sshd.target(rsa, tmp_path / "known_hosts"), timeout=10) as session:
        assert session.run("true") == (0, "")


def test_run_streams_lines_with_env_and_exit_status(sshd: Sshd, client_key: Path, tmp_path: Path) -> None:
    lines: list[str] = []
    with connect(sshd.target(client_key, tmp_path / "kh"), timeout=10) as session:
        status, tail = session.run(
            'echo "$GREETING"; echo to-stderr >&2; printf "no newline"; exit 3',
            env={"GREETING": "it's $HOME"}, on_output=lines.append, tail_lines=2)
        assert session.run("exit 0", privileged=True) == (0, "")  # root: no sudo needed
    assert status == 3
    assert lines == ["it's $HOME", "to-stderr", "no newline"]
    assert tail == "to-stderr\nno newline"


def test_run_timeout(sshd: Sshd, client_key: Path, tmp_path: Path) -> None:
    with connect(sshd.target(client_key, tmp_path / "kh"), timeout=10) as session, \
            pytest.raises(SshError, match="still running after 1 s"):
        session.run("sleep 5", timeout=1)


def test_upload_file_and_directory_keeps_modes(sshd: Sshd, client_key: Path, tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "run.sh").write_text("#!/bin/sh\necho ran\n")
    (src / "run.sh").chmod(0o750)
    (src / "sub" / "secret").write_bytes(os.urandom(100_000))
    (src / "sub" / "secret").chmod(0o600)
    dest = tmp_path / "remote"
    with connect(sshd.target(client_key, tmp_path / "kh"), timeout=10) as session:
        session.upload(src / "run.sh", f"{dest}/one/")
        session.upload(src, f"{dest}/tree")
        status, out = session.run(f"{dest}/one/run.sh")
    assert (status, out) == (0, "ran")
    assert _mode(dest / "one" / "run.sh") == 0o750
    assert _mode(dest / "tree" / "run.sh") == 0o750
    assert _mode(dest / "tree" / "sub" / "secret") == 0o600
    assert (dest / "tree" / "sub" / "secret").read_bytes() == (src / "sub" / "secret").read_bytes()
    assert not list((dest / "one").glob("*.hosted-upload"))


def test_upload_failure_names_the_paths(sshd: Sshd, client_key: Path, tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    (tmp_path / "blocker").write_text("a file, not a directory")
    with connect(sshd.target(client_key, tmp_path / "kh"), timeout=10) as session, \
            pytest.raises(SshError, match=r"copying .*/f to .*/blocker/f failed"):
        session.upload(tmp_path / "f", f"{tmp_path}/blocker/f")


def test_upload_refused_midway_is_an_ssh_error_with_the_output(sshd: Sshd, client_key: Path,
                                                               tmp_path: Path) -> None:
    # mkdir fails under set -e while most of the file is still to be sent.
    big = tmp_path / "big"
    big.write_bytes(os.urandom(20_000_000))
    (tmp_path / "blocker").write_text("a file, not a directory")
    with connect(sshd.target(client_key, tmp_path / "kh"), timeout=10) as session:
        with pytest.raises(SshError, match=r"copying .*/big to .*/blocker/sub/big failed") as err:
            session.upload(big, f"{tmp_path}/blocker/sub/big")
        assert "mkdir" in err.value.message
        assert session.run("echo still usable") == (0, "still usable")


def test_upload_of_a_missing_local_file_names_it(sshd: Sshd, client_key: Path, tmp_path: Path) -> None:
    missing = tmp_path / "missing.sh"
    with connect(sshd.target(client_key, tmp_path / "kh"), timeout=10) as session, \
            pytest.raises(SshError, match=f"cannot read {missing}"):
        session.upload(missing, "/tmp/x")


def test_run_timeout_while_output_keeps_flowing(sshd: Sshd, client_key: Path, tmp_path: Path) -> None:
    chatty = "i=0; while [ $i -lt 300 ]; do echo x; sleep 0.02; i=$((i+1)); done"  # >= 6 s
    began = time.monotonic()
    with connect(sshd.target(client_key, tmp_path / "kh"), timeout=10) as session, \
            pytest.raises(SshError, match="still running after 1 s"):
        session.run(chatty, timeout=1)
    assert time.monotonic() - began < 4


def test_connect_closes_the_given_socket_when_the_key_is_missing(tmp_path: Path) -> None:
    with Listener("silent") as port:
        sock = socket.create_connection(("127.0.0.1", port))
        with pytest.raises(SshError, match="cannot read SSH private key"):
            connect(target_at(port, tmp_path / "no-key", tmp_path / "kh"), timeout=2, sock=sock)
    assert sock.fileno() == -1


def test_connect_closes_the_socket_when_paramiko_cannot_start(monkeypatch: pytest.MonkeyPatch,
                                                              client_key: Path, tmp_path: Path) -> None:
    def broken(sock: socket.socket) -> None:
        raise paramiko.SSHException("no transport")

    monkeypatch.setattr(paramiko, "Transport", broken)
    with Listener("banner") as port:
        sock = socket.create_connection(("127.0.0.1", port))
        with pytest.raises(SshError, match="no transport"):
            connect(target_at(port, client_key, tmp_path / "kh"), timeout=2, sock=sock)
    assert sock.fileno() == -1


def test_nothing_listening_is_refused(client_key: Path, tmp_path: Path) -> None:
    target = target_at(free_port(), client_key, tmp_path / "kh")
    with pytest.raises(SshConnectFailed) as err:
        connect(target, timeout=2)
    assert err.value.reason == "refused"


@pytest.mark.parametrize(("behaviour", "reason"), [("close", "closed"), ("silent", "no-banner")])
def test_banner_failures(behaviour: str, reason: str, client_key: Path, tmp_path: Path) -> None:
    with Listener(behaviour) as port, pytest.raises(SshConnectFailed) as err:
        connect(target_at(port, client_key, tmp_path / "kh"), timeout=0.5)
    assert err.value.reason == reason


def _host_fp(sshd: Sshd) -> str:
    return fingerprint(sshd.host_public_key().split()[1])


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_upload_a_file_into_an_existing_directory(sshd: Sshd, client_key: Path, tmp_path: Path) -> None:
    (tmp_path / "app.conf").write_text("port=80\n")
    (tmp_path / "remote").mkdir()
    with connect(sshd.target(client_key, tmp_path / "kh"), timeout=10) as session:
        session.upload(tmp_path / "app.conf", f"{tmp_path}/remote")  # no trailing slash: still into it
    assert (tmp_path / "remote" / "app.conf").read_text() == "port=80\n"
    assert sorted(p.name for p in tmp_path.glob("remote*")) == ["remote"], "no stray temporary file"


def test_download_file_and_directory_keeps_modes(sshd: Sshd, client_key: Path, tmp_path: Path) -> None:
    guest = tmp_path / "guest"
    (guest / "etc" / "sub").mkdir(parents=True)
    (guest / "etc" / "run.sh").write_text("#!/bin/sh\n")
    (guest / "etc" / "run.sh").chmod(0o750)
    (guest / "etc" / "sub" / "blob").write_bytes(os.urandom(3_000_000))
    (guest / "etc" / "sub" / "blob").chmod(0o600)
    (guest / "etc" / "link").symlink_to("run.sh")  # followed, as scp does
    here = tmp_path / "here"
    here.mkdir()
    with connect(sshd.target(client_key, tmp_path / "kh"), timeout=10) as session:
        assert session.download(f"{guest}/etc/run.sh", here) == here / "run.sh"
        assert session.download(f"{guest}/etc", here / "copy") == here / "copy"
        assert session.download(f"{guest}/etc/", f"{here}/") == here / "etc"
        with pytest.raises(SshError, match=r"cannot copy .*/nothing: .*/nothing: no such file or directory"):
            session.download(f"{guest}/nothing", here)
        assert session.run("echo still usable") == (0, "still usable")
    assert _mode(here / "run.sh") == 0o750
    assert (here / "copy" / "sub" / "blob").read_bytes() == (guest / "etc" / "sub" / "blob").read_bytes()
    assert _mode(here / "copy" / "sub" / "blob") == 0o600
    assert (here / "copy" / "link").read_text() == "#!/bin/sh\n" and not (here / "copy" / "link").is_symlink()
    assert (here / "etc" / "sub" / "blob").is_file()
