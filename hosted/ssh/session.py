"""One SSH connection (paramiko, in process): connect, run commands, copy files.

``connect`` makes exactly one connection attempt.  It waits for the server's
banner itself (peeking, so paramiko still reads it) to tell "closed before a
banner" from "no banner in time" from "refused the key": readiness retries
the first two and reports the last one.
"""

from __future__ import annotations

import os
import shlex
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import paramiko

from hosted.errors import SshError
from hosted.ssh import transfer
from hosted.ssh.commands import Feeder, OutputCallback, OutputCollector, wrap_command
from hosted.ssh.hostkeys import check_host_key, host_key_algorithms, read_pins
from hosted.ssh.keys import load_private_key
from hosted.ssh.target import SshTarget

CHUNK = 32 * 1024
FailureReason = Literal["refused", "closed", "no-banner", "auth", "protocol"]

# OpenSSH's default order; the test guest's dropbear is cheapest with these.
KEX_PREFERENCE = ("curve25519-sha256@libssh.org", "ecdh-sha2-nistp256", "ecdh-sha2-nistp384",
                  "ecdh-sha2-nistp521", "diffie-hellman-group16-sha512",
                  "diffie-hellman-group-exchange-sha256", "diffie-hellman-group14-sha256")


class SshConnectFailed(SshError):
    """One connection attempt failed; ``reason`` says at which point."""

    def __init__(self, message: str, hint: str = "", *, reason: FailureReason) -> None:
        super().__init__(message, hint)
        self.reason = reason
        self.retryable = reason != "protocol"


def connect(target: SshTarget, timeout: float, sock: socket.socket | None = None) -> SshSession:
    """Log in to ``target``: one attempt, every phase bounded by ``timeout`` seconds.

    ``sock`` may be an already connected socket (readiness reuses its probe).
    Raises SshConnectFailed, HostKeyMismatch, or SshError for an unreadable key.
    """
    try:
        pkey = load_private_key(target.private_key)
    except BaseException:
        if sock is not None:
            sock.close()  # the caller handed it over
        raise
    if sock is None:
        sock = open_socket(target, timeout)
    try:
        await_banner(sock, target, timeout)
        transport = _transport(sock, target)
    except BaseException:
        sock.close()
        raise
    try:
        _negotiate(transport, target, timeout)
        check_host_key(target.known_hosts, target.host_key_alias, transport.get_remote_server_key(),
                       target.label)
        _authenticate(transport, target, pkey)
    except BaseException:
        transport.close()
        raise
    return SshSession(transport, target)


def open_socket(target: SshTarget, timeout: float) -> socket.socket:
    try:
        return socket.create_connection((target.host, target.port), timeout=timeout)
    except OSError as exc:
        raise SshConnectFailed(f"{target.label}: cannot connect to {target.host}:{target.port}: {exc}",
                               reason="refused") from exc


def await_banner(sock: socket.socket, target: SshTarget, timeout: float) -> None:
    """Wait until the server has sent its first bytes, without consuming them."""
    sock.settimeout(timeout)
    where = f"{target.label} ({target.host}:{target.port})"
    try:
        data = sock.recv(4, socket.MSG_PEEK)
    except TimeoutError as exc:
        raise SshConnectFailed(f"{where}: no SSH banner within {timeout:.0f} s",
                               reason="no-banner") from exc
    except OSError as exc:
        raise SshConnectFailed(f"{where}: connection closed before the SSH banner ({exc})",
                               reason="closed") from exc
    if not data:
        raise SshConnectFailed(f"{where}: connection closed before the SSH banner", reason="closed")


def _transport(sock: socket.socket, target: SshTarget) -> paramiko.Transport:
    try:
        return paramiko.Transport(sock)
    except (paramiko.SSHException, OSError) as exc:
        raise SshConnectFailed(f"{target.label}: cannot start SSH on the connection: {exc}",
                               reason="closed") from exc


def _negotiate(transport: paramiko.Transport, target: SshTarget, timeout: float) -> None:
    options = transport.get_security_options()
    options.kex = tuple(k for k in KEX_PREFERENCE if k in options.kex)
    pins = read_pins(target.known_hosts, target.host_key_alias)
    options.key_types = host_key_algorithms(pins, options.key_types)
    # The guest's CPU is slow: paramiko's 15 s handshake default is too short.
    transport.banner_timeout = transport.handshake_timeout = transport.auth_timeout = timeout
    try:
        transport.start_client(timeout=timeout)
    except (paramiko.SSHException, EOFError, OSError) as exc:
        reason: FailureReason = "protocol" if isinstance(exc, paramiko.SSHException) else "closed"
        raise SshConnectFailed(f"{target.label}: SSH key exchange failed: {exc or type(exc).__name__}",
                               reason=reason) from exc


def _authenticate(transport: paramiko.Transport, target: SshTarget, pkey: paramiko.PKey) -> None:
    try:
        transport.auth_publickey(target.user, pkey)
    except paramiko.AuthenticationException as exc:
        raise SshConnectFailed(
            f"{target.label}: the SSH server refused key login as {target.user!r} "
            f"with {target.private_key} ({pkey.fingerprint})",
            hint="the guest must have the public key in ~/.ssh/authorized_keys of that user "
                 f"({target.private_key}.pub)",
            reason="auth",
        ) from exc
    except (paramiko.SSHException, EOFError, OSError) as exc:
        raise SshConnectFailed(f"{target.label}: SSH login failed: {exc or type(exc).__name__}",
                               reason="closed") from exc


class SshSession:
    """A logged-in connection; close it (or use ``with``) when done."""

    def __init__(self, transport: paramiko.Transport, target: SshTarget) -> None:
        self.transport = transport
        self.target = target

    def __enter__(self) -> SshSession:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self.transport.close()

    def run(self, command: str, *, env: dict[str, str] | None = None, privileged: bool = False,
            on_output: OutputCallback | None = None, timeout: float | None = None,
            tail_lines: int = 40) -> tuple[int, str]:
        """Run ``command`` with the guest's sh; stdout and stderr are merged.

        Each output line goes to ``on_output`` as it arrives.  Returns the exit
        status (-1 if the server sent none) and the last ``tail_lines`` lines.
        ``privileged`` runs it through ``sudo -n`` unless the user is root.
        """
        wrapped = wrap_command(command, env or {}, privileged, self.target.user)
        collector = OutputCollector(on_output, tail_lines)
        status = self._exec(wrapped, None, collector, timeout)
        return status, collector.tail()

    def upload(self, local_path: str | Path, remote_path: str, *, privileged: bool = False) -> None:
        """Copy a file, or a directory's contents, to ``remote_path``; modes are kept."""
        local = Path(local_path)
        try:
            if transfer.is_directory(local):
                command, feed = transfer.directory_command(remote_path), transfer.send_tree
            else:
                remote_path = transfer.remote_destination(local, remote_path)
                command, feed = transfer.file_command(local, remote_path), transfer.send_file
        except OSError as exc:
            raise _local_file_error(exc, local) from exc
        collector = OutputCollector(None, 10)
        wrapped = wrap_command(command, {}, privileged, self.target.user)
        status = self._exec(wrapped, lambda send: feed(local, send), collector, None)
        if status != 0:
            raise SshError(f"{self.target.label}: copying {local} to {remote_path} failed "
                           f"(exit status {status}): {collector.tail()}")

    def download(self, remote_path: str, local_path: str | Path, *, idle_timeout: float = 120.0) -> Path:
        """Copy a file or a directory from the guest to ``local_path`` (into it when it is a
        directory or ends with a separator); modes are kept.  Returns the path written."""
        command, top = transfer.send_command(remote_path)
        try:
            channel = self.transport.open_session(timeout=idle_timeout)
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise SshError(f"{self.target.label}: cannot open an SSH channel: {exc}") from exc
        with channel:
            channel.settimeout(idle_timeout)
            try:
                channel.exec_command(f"sh -c {shlex.quote(command)}")
                channel.shutdown_write()
                into = str(local_path).endswith(("/", os.sep))
                written = self._receive(channel, top, Path(local_path), remote_path, into)
            except (paramiko.SSHException, EOFError, OSError) as exc:
                raise SshError(f"{self.target.label}: copying {remote_path} failed: "
                               f"{exc or type(exc).__name__}") from exc
        return written

    def _receive(self, channel: paramiko.Channel, top: str, local: Path, remote_path: str,
                 into: bool) -> Path:
        import tarfile

        stream = channel.makefile("rb")
        try:
            written = transfer.receive(stream, top, local, into=into)  # type: ignore[arg-type]
            while stream.read(CHUNK):  # the end of the archive: tar may pad it
                pass
        except tarfile.ReadError as exc:  # nothing came: tar could not start
            raise self._copy_failed(channel, remote_path, str(exc)) from None
        if channel.recv_exit_status() != 0:
            raise self._copy_failed(channel, remote_path, f"exit status {channel.recv_exit_status()}")
        return written

    def _copy_failed(self, channel: paramiko.Channel, remote_path: str, otherwise: str) -> SshError:
        why = channel.makefile_stderr("rb").read().decode("utf-8", "replace").strip().splitlines()
        return SshError(f"{self.target.label}: cannot copy {remote_path}: {why[0] if why else otherwise}",
                        "check the path in the machine (a relative path starts in the login user's "
                        "home directory)")

    def _exec(self, command: str, feed: Feeder | None, collector: OutputCollector,
              timeout: float | None) -> int:
        try:
            channel = self.transport.open_session(timeout=timeout)
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise SshError(f"{self.target.label}: cannot open an SSH channel: {exc}") from exc
        with channel:
            channel.set_combine_stderr(True)
            try:
                channel.exec_command(command)
            except (paramiko.SSHException, EOFError, OSError) as exc:
                raise SshError(f"{self.target.label}: cannot start a command: "
                               f"{exc or type(exc).__name__}") from exc
            refused = self._feed(channel, feed)
            self._drain(channel, collector, timeout)
            status = channel.recv_exit_status()
        if refused is not None and status == 0:
            raise SshError(f"{self.target.label}: the command stopped reading its input "
                           f"({refused or type(refused).__name__}); its output: {collector.tail()}")
        return status

    def _feed(self, channel: paramiko.Channel, feed: Feeder | None) -> BaseException | None:
        """Send the input and its end; the error if the remote side stopped taking it.

        A command that fails early (``mkdir`` under ``set -e``) closes the
        channel while input is still being sent; its output and exit status
        then say why, so they are still read.
        """
        def guarded(action: Callable[[], object]) -> None:
            try:
                action()
            except (paramiko.SSHException, EOFError, OSError) as exc:
                raise _InputRefused from exc

        try:
            if feed is not None:
                feed(lambda data: guarded(lambda: channel.sendall(data)))
            guarded(channel.shutdown_write)
        except _InputRefused as refused:
            return refused.__cause__
        except OSError as exc:  # reading the local input
            raise _local_file_error(exc) from exc
        return None

    def _drain(self, channel: paramiko.Channel, collector: OutputCollector,
               timeout: float | None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        channel.settimeout(1.0)
        while True:
            try:
                data = channel.recv(CHUNK)
            except TimeoutError:
                if not self.transport.is_active():
                    raise SshError(f"{self.target.label}: the SSH connection was lost") from None
            else:
                if not data:
                    collector.finish()
                    return
                collector.feed(data)
            # After every recv, not only a timed-out one: a command that keeps printing never times one out.
            if deadline is not None and time.monotonic() > deadline:
                raise SshError(f"{self.target.label}: command still running after "
                               f"{timeout:.0f} s; stopped waiting")


class _InputRefused(Exception):
    """Sending input failed: the remote command or the connection went away."""


def _local_file_error(exc: OSError, local: Path | None = None) -> SshError:
    name = exc.filename if exc.filename is not None else local
    return SshError(f"cannot read {name}: {exc.strerror or exc}",
                    hint="check that the file exists and is readable")
