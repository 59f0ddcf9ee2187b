"""A real OpenSSH sshd on loopback for tests (no mocks of the SSH library).

Runs ``/usr/sbin/sshd -D -e`` as root with its own host key, authorized_keys
file and config in a temporary directory.  Like the test guest, it offers no
SFTP subsystem.  Import the fixtures into a test module to use them.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hosted.ssh import SshTarget, ensure_keypair, public_key_line

SSHD = "/usr/sbin/sshd"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def needs_sshd() -> None:
    if not os.path.exists(SSHD) or not shutil.which("ssh-keygen"):
        pytest.skip("needs OpenSSH (run inside scripts/sandbox)")
    if os.geteuid() != 0:
        pytest.skip("sshd must run as root")


class Sshd:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.authorized_keys = root / "authorized_keys"
        self.authorized_keys.touch()
        self.log = root / "sshd.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.new_host_key()

    @property
    def host_key(self) -> Path:
        return self.root / "host_ed25519"

    def new_host_key(self, kind: str = "ed25519") -> None:
        for path in (self.host_key, self.host_key.with_suffix(".pub")):
            path.unlink(missing_ok=True)
        subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-f", str(self.host_key)],
                       check=True)

    def host_public_key(self) -> str:
        return self.host_key.with_suffix(".pub").read_text()

    def authorize(self, private_key: Path) -> None:
        with open(self.authorized_keys, "a", encoding="utf-8") as fh:
            fh.write(public_key_line(private_key) + "\n")

    def start(self) -> None:
        config = self.root / "sshd_config"
        config.write_text("\n".join([
            f"Port {self.port}", "ListenAddress 127.0.0.1", f"HostKey {self.host_key}",
            f"AuthorizedKeysFile {self.authorized_keys}", f"PidFile {self.root / 'sshd.pid'}",
            "UsePAM no", "StrictModes no", "PasswordAuthentication no",
            "KbdInteractiveAuthentication no", "PermitRootLogin prohibit-password",
            "LogLevel VERBOSE", "",
        ]))
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stderr=log)
        self._await_banner()

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None

    def restart_with_new_host_key(self) -> None:
        self.stop()
        self.new_host_key()
        self.start()

    def target(self, private_key: Path, known_hosts: Path, user: str = "root",
               label: str = "test/sshd") -> SshTarget:
        return SshTarget("127.0.0.1", self.port, user, private_key, known_hosts, label)

    def _await_banner(self) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"sshd exited: {self.log.read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
                    if s.recv(4) == b"SSH-":
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("sshd did not answer within 10 s")


def target_at(port: int, key: Path, known_hosts: Path) -> SshTarget:
    return SshTarget("127.0.0.1", port, "root", key, known_hosts, "test/none")


class Listener:
    """A plain TCP server that closes each connection at once ("close"), never
    speaks ("silent"), or sends an SSH banner and nothing more ("banner")."""

    def __init__(self, behaviour: str) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.behaviour = behaviour
        self.accepted = 0
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> int:
        self.thread.start()
        return int(self.server.getsockname()[1])

    def __exit__(self, *_: object) -> None:
        self.server.close()
        for conn in self.held:
            conn.close()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.accepted += 1
            if self.behaviour == "close":
                conn.close()
                continue
            if self.behaviour == "banner":
                conn.sendall(b"SSH-2.0-Listener\r\n")
            self.held.append(conn)


@pytest.fixture(name="sshd")
def sshd_fixture(tmp_path: Path) -> Iterator[Sshd]:
    """A running sshd that accepts the ``client_key`` fixture's key for root."""
    needs_sshd()
    root = tmp_path / "sshd"
    root.mkdir()
    server = Sshd(root)
    server.authorize(ensure_keypair("sshd-tests"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(name="client_key")
def client_key_fixture() -> Path:
    return ensure_keypair("sshd-tests")
