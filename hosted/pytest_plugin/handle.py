"""What a test holds: one machine of the environment, with one SSH login kept open
between calls (a login costs a slow guest seconds; a command a fraction of one)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from hosted.model import MachineSpec
from hosted.remote import CommandResult, Remote
from hosted.ssh import SshSession

if TYPE_CHECKING:
    from hosted.pytest_plugin.session import HostedSession


class Machine:
    """A running machine of the test environment (``machine("web")``, ``hosted_machine``)."""

    def __init__(self, session: HostedSession, spec: MachineSpec) -> None:
        self._session = session
        self.spec = spec
        self._remote: Remote | None = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """The profile's machine name."""
        return self.spec.name

    @property
    def vm_name(self) -> str:
        """Its VirtualBox name (with the xdist worker's suffix under pytest-xdist)."""
        return self.spec.vm_name

    def __repr__(self) -> str:
        return f"<hosted machine {self.name} ({self.vm_name})>"

    def run(self, command: str, *, check: bool = False, timeout: float | None = 600.0,
            env: Mapping[str, str] | None = None, privileged: bool = False, stdin: bytes | str | None = None,
            on_output: Callable[[str], None] | None = None) -> CommandResult:
        """Run ``command`` with the guest's sh; ``.exit_status``, ``.stdout``, ``.stderr``, ``.ok``.

        A non-zero exit status is returned, not raised, unless ``check=True``
        (then ``hosted.CommandFailed``, with the result and its output).
        """
        return self._use().run(command, timeout=timeout, check=check, env=env, privileged=privileged,
                               stdin=stdin, on_output=on_output)

    def put(self, local: str | Path, remote: str, *, privileged: bool = False) -> None:
        """Copy a file, or a directory's contents, into the guest (``remote`` ending in '/': into it)."""
        self._use().upload(local, remote, privileged=privileged)

    def get(self, remote: str, local: str | Path, *, privileged: bool = False) -> Path:
        """Copy a guest file, or a directory's contents, to ``local``; returns the path written."""
        return self._use().download(remote, local, privileged=privileged)

    def port(self, guest_port: int, protocol: str = "tcp") -> int:
        """The host port forwarded to ``guest_port`` (connect to 127.0.0.1 on it)."""
        self._session.touch(self.name)
        return self._session.port(self.name, guest_port, protocol)

    def reset(self) -> None:
        """Back to the ``baseline`` snapshot now, and logged in again."""
        self._session.touch(self.name)
        self._session.reset([self.name])

    def logs(self) -> dict[str, str]:
        """Its diagnostic files: ``serial`` (the console), ``vbox`` (VBox.log), ``provision``."""
        return self._session.log_paths(self.name)

    # The session's side

    def login(self, log_in: Callable[[], SshSession]) -> None:
        """Log in again now (after a restore the guest no longer knows the old connection)."""
        with self._lock:
            self._drop()
            self._remote = Remote(log_in(), self.name)

    def close(self) -> None:
        with self._lock:
            self._drop()

    def _use(self) -> Remote:
        self._session.touch(self.name)
        with self._lock:
            if self._remote is None or not self._remote.alive:
                self._drop()
                self._remote = self._session.open_remote(self.name)
            return self._remote

    def _drop(self) -> None:
        if self._remote is not None:
            self._remote.close()
            self._remote = None
