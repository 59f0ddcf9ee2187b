"""Building remote command lines, and collecting their output line by line."""

from __future__ import annotations

import re
import shlex
from collections import deque
from collections.abc import Callable

OutputCallback = Callable[[str], None]
Feeder = Callable[[Callable[[bytes], None]], None]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def wrap_command(command: str, env: dict[str, str], privileged: bool, user: str, *,
                 merge: bool = True) -> str:
    """``command`` for POSIX sh, with ``env`` exported, through ``sudo -n`` if privileged.

    Variables are exported in the command itself: sshd accepts few names
    through the protocol's env request (AcceptEnv), and dropbear none.
    ``merge``: stderr joins stdout in the guest, so lines keep their order.
    """
    for name in env:
        if not _NAME.match(name):
            raise ValueError(f"not a valid environment variable name: {name!r}")
    exports = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items())
    script = ("exec 2>&1\n" if merge else "") + exports + command
    sudo = "sudo -n -- " if privileged and user != "root" else ""
    return f"{sudo}sh -c {shlex.quote(script)}"


class OutputCollector:
    """Splits a byte stream into lines for a callback, keeping the last few."""

    def __init__(self, on_line: OutputCallback | None, keep: int) -> None:
        self._on_line = on_line
        self._lines: deque[str] = deque(maxlen=max(keep, 1))
        self._partial = b""

    def feed(self, data: bytes) -> None:
        *lines, self._partial = (self._partial + data).split(b"\n")
        for raw in lines:
            self._line(raw)

    def finish(self) -> None:
        if self._partial:
            self._line(self._partial)
            self._partial = b""

    def tail(self) -> str:
        return "\n".join(self._lines)

    def _line(self, raw: bytes) -> None:
        line = raw.decode("utf-8", "replace").rstrip("\r")
        self._lines.append(line)
        if self._on_line is not None:
            self._on_line(line)
