"""A running machine over one SSH login: commands with their exit status and
output, and file copies both ways.  ``hosted.open_remote`` opens one; each call
reuses the login, which on a slow guest costs seconds while a command costs a
fraction of one."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from hosted.errors import SshError

if TYPE_CHECKING:  # importing hosted.api stays light: paramiko loads with the first login
    from hosted.ssh import SshSession

OUTPUT_IN_HINT = 2000  # characters of a failed command's output in the error's hint


@dataclass(frozen=True)
class CommandResult:
    """What a command run in the guest returned and printed."""
    exit_status: int
    output: str  # stdout and stderr, merged as they arrived (kept apart: stdout, then stderr)
    stdout: str = ""  # filled when the streams were kept apart (Remote.run, run_command(separate=True))
    stderr: str = ""
    command: str = ""

    @property
    def ok(self) -> bool:
        return self.exit_status == 0


class CommandFailed(SshError):
    """A command asked to succeed (``check=True``) exited with another status; ``result`` has its output."""

    def __init__(self, machine: str, result: CommandResult) -> None:
        tail = result.output[-OUTPUT_IN_HINT:]
        super().__init__(f"{machine}: {result.command!r} exited with status {result.exit_status}", tail)
        self.result = result


class Remote:
    """One logged-in machine; ``close()`` it (or use ``with``) when done."""

    def __init__(self, session: SshSession, machine: str) -> None:
        self.session = session
        self.machine = machine

    def __enter__(self) -> Remote:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self.session.close()

    @property
    def alive(self) -> bool:
        """The login still stands (False after a restore: the guest forgot the connection)."""
        return bool(self.session.transport.is_active())

    def run(self, command: str, *, timeout: float | None = 600.0, check: bool = False,
            env: Mapping[str, str] | None = None, privileged: bool = False, stdin: bytes | str | None = None,
            on_output: Callable[[str], None] | None = None) -> CommandResult:
        """Run ``command`` with the guest's sh: exit status, stdout and stderr (decoded as UTF-8).

        ``check``: a non-zero exit status raises CommandFailed.  ``stdin`` is
        sent as its input; ``on_output`` gets each line of either stream as it arrives.
        """
        data = stdin.encode() if isinstance(stdin, str) else stdin
        got = self.session.capture(command, env=dict(env or {}), privileged=privileged, stdin=data,
                                   on_output=on_output, timeout=timeout)
        out, err = (b.decode("utf-8", "replace") for b in (got.stdout, got.stderr))
        result = CommandResult(got.exit_status, out + err, out, err, command)
        if check and not result.ok:
            raise CommandFailed(self.machine, result)
        return result

    def upload(self, local: str | Path, remote: str, *, privileged: bool = False) -> None:
        """Copy a file, or a directory's contents, into the guest; modes are kept."""
        self.session.upload(local, remote, privileged=privileged)

    def download(self, remote: str, local: str | Path, *, privileged: bool = False) -> Path:
        """Copy a guest file, or a directory's contents, to ``local``; returns the path written."""
        return self.session.download(remote, local, privileged=privileged)
