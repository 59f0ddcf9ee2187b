"""The user's own OpenSSH client, pointed at a machine with the same key and pins.

Strict host-key checking against the machine's pin file, never
``StrictHostKeyChecking=no``: ``hosted ssh`` is as safe as hosted itself.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from hosted.ssh.target import SshTarget


def openssh_argv(target: SshTarget, command: list[str], *, ssh: str | None = None) -> list[str]:
    """argv for ``ssh`` to ``target``; an empty ``command`` means an interactive login.

    ``command`` words are passed as ssh passes them: joined by spaces and run
    by the remote shell, as with a plain ``ssh host cmd ...``.
    """
    argv = [ssh or shutil.which("ssh") or "ssh", "-i", str(target.private_key),
            "-p", str(target.port), "-l", target.user]
    for key, value in _options(target):
        argv += ["-o", f"{key}={value}"]
    argv.append(target.host)
    if command:
        argv += ["--", *command]
    return argv


def ssh_config_block(alias: str, target: SshTarget) -> str:
    """An OpenSSH ``Host`` block for ``~/.ssh/config`` (or ``ssh -F``)."""
    if not alias or re.search(r"[\s*?!,]", alias):
        raise ValueError(f"not usable as an ssh_config Host alias: {alias!r}")
    lines = [f"Host {alias}", f"  HostName {target.host}", f"  Port {target.port}",
             f"  User {target.user}", f"  IdentityFile {_path(target.private_key)}"]
    lines += [f"  {key} {value}" for key, value in _options(target)]
    return "\n".join(lines) + "\n"


def _options(target: SshTarget) -> list[tuple[str, str]]:
    return [
        ("IdentitiesOnly", "yes"),
        ("UserKnownHostsFile", _path(target.known_hosts)),
        ("GlobalKnownHostsFile", "none"),
        ("HostKeyAlias", target.host_key_alias),
        ("StrictHostKeyChecking", "yes"),
        ("UpdateHostKeys", "no"),
        ("PasswordAuthentication", "no"),
        ("KbdInteractiveAuthentication", "no"),
    ]


def _path(path: Path) -> str:
    # ssh expands %-tokens in these paths, and splits UserKnownHostsFile on
    # spaces (macOS: "Application Support"), so escape and quote.
    text = str(path).replace("%", "%%")
    return f'"{text}"' if re.search(r"\s", text) else text
