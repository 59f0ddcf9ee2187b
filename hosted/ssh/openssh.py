"""The user's own OpenSSH client, pointed at a machine with the same key and pins.

Strict host-key checking against the machine's pin file, never
``StrictHostKeyChecking=no``: ``hosted ssh`` is as safe as hosted itself.
Every value is checked before it reaches an argv or a config block (the
profile loader checks them first; this is the last line): a newline in a user
name would otherwise start a new ssh_config directive, such as ProxyCommand.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from hosted.errors import SshError
from hosted.ssh.target import SshTarget

_USER = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,31}")
_HOST = re.compile(r"[A-Za-z0-9][A-Za-z0-9.:-]*")
_ALIAS = re.compile(r"[A-Za-z0-9._-]+")


def openssh_argv(target: SshTarget, command: list[str], *, ssh: str | None = None) -> list[str]:
    """argv for ``ssh`` to ``target``; an empty ``command`` means an interactive login.

    ``command`` words are passed as ssh passes them: joined by spaces and run
    by the remote shell, as with a plain ``ssh host cmd ...``.
    """
    _check(target)
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
    if not _ALIAS.fullmatch(alias):
        raise SshError(f"not usable as an ssh_config Host alias: {alias!r}",
                       "Use letters, digits, '.', '_' and '-' in environment and machine names.")
    _check(target)
    lines = [f"Host {alias}", f"  HostName {target.host}", f"  Port {target.port}",
             f"  User {target.user}", f"  IdentityFile {_path(target.private_key)}"]
    lines += [f"  {key} {value}" for key, value in _options(target)]
    return "\n".join(lines) + "\n"


def _check(target: SshTarget) -> None:
    """SshError for any value that could break out of its place in an argv or a config line."""
    problems = []
    if not _USER.fullmatch(target.user):
        problems.append(f"user {target.user!r}")
    if not _HOST.fullmatch(target.host):
        problems.append(f"host {target.host!r}")
    if not 0 < target.port < 65536:
        problems.append(f"port {target.port!r}")
    for what, path in (("key", target.private_key), ("pin file", target.known_hosts)):
        text = str(path)
        if not text.isprintable() or '"' in text:
            problems.append(f"{what} path {text!r}")
    if not _ALIAS.fullmatch(target.host_key_alias):
        problems.append(f"host key alias {target.host_key_alias!r}")
    if problems:
        raise SshError(f"cannot hand {target.label} to OpenSSH: unsafe {', '.join(problems)}",
                       "Fix the value in the profile (`hosted validate` names it).")


def openssh_options(target: SshTarget) -> list[tuple[str, str]]:
    """The ``-o`` options that pin the machine's host key and use only its key (checked values)."""
    _check(target)
    return _options(target)


def _options(target: SshTarget) -> list[tuple[str, str]]:
    forwarding = [(key, "yes") for key, on in (("ForwardAgent", target.forward_agent),
                                               ("ForwardX11", target.forward_x11)) if on]
    return [
        *forwarding,
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
