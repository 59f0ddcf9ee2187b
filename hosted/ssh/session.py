"""One SSH connection (paramiko, in process): connect, run commands, copy files.

``connect`` makes exactly one connection attempt.  It waits for the server's
banner itself (peeking, so paramiko still reads it) to tell "closed before a
banner" from "no banner in time" from "refused the key": readiness retries
the first two and reports the last one.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import paramiko

from hosted.errors import SshError
from hosted.ssh import transfer
from hosted.ssh.channel import CHUNK, Sinks, drain, feed_input
from hosted.ssh.commands import Feeder, OutputCallback, OutputCollector, wrap_command
from hosted.ssh.hostkeys import check_host_key, host_key_algorithms, read_pins
from hosted.ssh.keys import load_private_key
from hosted.ssh.target import SshTarget

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
        """Run ``command`` with the guest's sh; stdout and stderr are merged, in order.

        Each output line goes to ``on_output`` as it arrives.  Returns the exit
        status (-1 if the server sent none) and the last ``tail_lines`` lines.
        ``privileged`` runs it through ``sudo -n`` unless the user is root.
        """
        wrapped = wrap_command(command, env or {}, privileged, self.target.user)
        collector = OutputCollector(on_output, tail_lines)
        status = self._exec(wrapped, None, Sinks(collector.feed), timeout)
        collector.finish()
        return status, collector.tail()

    def capture(self, command: str, *, env: dict[str, str] | None = None, privileged: bool = False,
                stdin: bytes | None = None, on_output: OutputCallback | None = None,
                timeout: float | None = None) -> Captured:
        """Run ``command`` with the guest's sh; its stdout and stderr kept apart, in full.

        ``on_output`` gets each line of either stream as it arrives; ``stdin`` is
        sent as the command's input (none: its input is closed at once).
        """
        wrapped = wrap_command(command, env or {}, privileged, self.target.user, merge=False)
        out, err = bytearray(), bytearray()
        lines = (OutputCollector(on_output, 1), OutputCollector(on_output, 1))

        def sink(buffer: bytearray, collector: OutputCollector) -> Callable[[bytes], None]:
            def take(data: bytes) -> None:
                buffer.extend(data)
                if on_output is not None:
                    collector.feed(data)
            return take

        feed = None if stdin is None else (lambda send: send(stdin))
        status = self._exec(wrapped, feed, Sinks(sink(out, lines[0]), sink(err, lines[1])), timeout,
                            lambda: (out + err)[-2000:].decode("utf-8", "replace"))
        for collector in lines:
            collector.finish()
        return Captured(status, bytes(out), bytes(err))

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
        status = self._exec(wrapped, lambda send: feed(local, send), Sinks(collector.feed), None,
                            collector.tail)
        collector.finish()
        if status != 0:
            raise SshError(f"{self.target.label}: copying {local} to {remote_path} failed "
                           f"(exit status {status}): {collector.tail()}")

    def download(self, remote_path: str, local_path: str | Path, *, privileged: bool = False,
                 idle_timeout: float = 120.0) -> Path:
        """Copy a file or a directory from the guest to ``local_path`` (into it when it is a
        directory or ends with a separator); modes are kept.  Returns the path written.
        ``privileged``: read it through ``sudo -n`` (files only root may read)."""
        command, top = transfer.send_command(remote_path)
        wrapped = wrap_command(command, {}, privileged, self.target.user, merge=False)
        try:
            channel = self.transport.open_session(timeout=idle_timeout)
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise SshError(f"{self.target.label}: cannot open an SSH channel: {exc}") from exc
        with channel:
            channel.settimeout(idle_timeout)
            try:
                channel.exec_command(wrapped)
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

    def _exec(self, command: str, feed: Feeder | None, sinks: Sinks, timeout: float | None,
              output: Callable[[], str] = str) -> int:
        """Run one command; ``output`` describes what it printed, for an error message."""
        try:
            channel = self.transport.open_session(timeout=timeout)
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise SshError(f"{self.target.label}: cannot open an SSH channel: {exc}") from exc
        with channel:
            channel.set_combine_stderr(sinks.stderr is None)
            try:
                channel.exec_command(command)
            except (paramiko.SSHException, EOFError, OSError) as exc:
                raise SshError(f"{self.target.label}: cannot start a command: "
                               f"{exc or type(exc).__name__}") from exc
            try:
                refused = feed_input(channel, feed)
            except OSError as exc:  # reading the local input
                raise _local_file_error(exc) from exc
            drain(channel, self.transport, sinks, timeout, self.target.label)
            status = channel.recv_exit_status()
        if refused is not None and status == 0:
            raise SshError(f"{self.target.label}: the command stopped reading its input "
                           f"({refused or type(refused).__name__}); its output: {output()}")
        return status


@dataclass(frozen=True)
class Captured:
    """A command's exit status (-1 if the server sent none) and its two output streams."""

    exit_status: int
    stdout: bytes
    stderr: bytes


def _local_file_error(exc: OSError, local: Path | None = None) -> SshError:
    name = exc.filename if exc.filename is not None else local
    return SshError(f"cannot read {name}: {exc.strerror or exc}",
                    hint="check that the file exists and is readable")
