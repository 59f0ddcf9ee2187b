"""One command's channel: sending its input, and reading its output until it ends.

Output is read either merged (stderr joined to stdout on the channel, for
provisioning, whose log wants the lines in the order they came) or as two
streams.  Two streams share the channel's flow-control window, so both are read
as data arrives: a command that fills stderr while the reader waits on stdout
would otherwise stall.
"""

from __future__ import annotations

import select
import time
from collections.abc import Callable
from dataclasses import dataclass

import paramiko

from hosted.errors import SshError
from hosted.ssh.commands import Feeder

CHUNK = 32 * 1024
Sink = Callable[[bytes], None]
Deadline = tuple[float, float] | None  # (monotonic time, the timeout it came from)


@dataclass(frozen=True)
class Sinks:
    """Where output goes; ``stderr=None``: merged into ``stdout`` on the channel."""

    stdout: Sink
    stderr: Sink | None = None


class InputRefused(Exception):
    """Sending input failed: the remote command or the connection went away."""


def feed_input(channel: paramiko.Channel, feed: Feeder | None) -> BaseException | None:
    """Send the input and its end; the error if the remote side stopped taking it.

    A command that fails early (``mkdir`` under ``set -e``) closes the channel
    while input is still being sent; its output and exit status then say why,
    so they are still read.  An OSError reading the local input propagates.
    """
    def guarded(action: Callable[[], object]) -> None:
        try:
            action()
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise InputRefused from exc

    try:
        if feed is not None:
            feed(lambda data: guarded(lambda: channel.sendall(data)))
        guarded(channel.shutdown_write)
    except InputRefused as refused:
        return refused.__cause__
    return None


def drain(channel: paramiko.Channel, transport: paramiko.Transport, sinks: Sinks,
          timeout: float | None, label: str) -> None:
    """Read the command's output into ``sinks`` until it ends (SshError after ``timeout``)."""
    deadline = None if timeout is None else (time.monotonic() + timeout, timeout)
    if sinks.stderr is None:
        _drain_merged(channel, transport, sinks.stdout, deadline, label)
    else:
        _drain_both(channel, transport, sinks.stdout, sinks.stderr, deadline, label)


def _drain_merged(channel: paramiko.Channel, transport: paramiko.Transport, out: Sink,
                  deadline: Deadline, label: str) -> None:
    channel.settimeout(1.0)
    while True:
        try:
            data = channel.recv(CHUNK)
        except TimeoutError:
            _check_alive(transport, label)
        else:
            if not data:
                return
            out(data)
        # After every recv, not only a timed-out one: a command that keeps printing never times one out.
        _check_deadline(deadline, label)


def _drain_both(channel: paramiko.Channel, transport: paramiko.Transport, out: Sink, err: Sink,
                deadline: Deadline, label: str) -> None:
    while True:
        got = False
        if channel.recv_ready():
            out(channel.recv(CHUNK))
            got = True
        if channel.recv_stderr_ready():
            err(channel.recv_stderr(CHUNK))
            got = True
        if not got:
            if channel.eof_received or channel.closed:
                if not (channel.recv_ready() or channel.recv_stderr_ready()):
                    return
                continue
            # The channel's pipe becomes readable when either stream has data, or at EOF.
            ready, _, _ = select.select([channel], [], [], 1.0)
            if not ready:
                _check_alive(transport, label)
        _check_deadline(deadline, label)


def _check_alive(transport: paramiko.Transport, label: str) -> None:
    if not transport.is_active():
        raise SshError(f"{label}: the SSH connection was lost")


def _check_deadline(deadline: Deadline, label: str) -> None:
    if deadline is not None and time.monotonic() > deadline[0]:
        raise SshError(f"{label}: command still running after {deadline[1]:.0f} s; stopped waiting")
