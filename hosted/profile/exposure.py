"""What a profile exposes: host paths given to the guest, ports opened to the network, secrets.

Profiles come from other people (a workshop bundle, a repository).  Host paths
that would hand the guest the whole disk, the user's home or their credentials
are refused unless the entry says ``allow_sensitive: true``; forwards that
listen on every address or on a privileged port are allowed with a warning.
The warnings are plain lines ("file:line: key: what"), kept in
``Environment.warnings`` for the plan to show.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

from hosted.errors import ProfileError
from hosted.model import ANY_ADDRESSES
from hosted.profile import build, recorded, schema
from hosted.profile.source import Document, KeyPath, format_path

# Directories under the home directory that hold credentials.
CREDENTIAL_DIRS = (".ssh", ".gnupg", ".aws", ".kube", ".docker", ".password-store")
PRIVILEGED_PORTS = 1024
# Variables whose name says they hold a secret are secret without being listed under `secrets:`.
SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSW(OR)?D|PASSPHRASE|API_?KEY|PRIVATE_?KEY|CREDENTIAL",
                         re.IGNORECASE)
ALLOW_HINT = ("Share or copy a directory made for the guest instead. If you really mean it, add "
              "`allow_sensitive: true` to this entry (see docs/security.md).")


def sensitive(path: str) -> str | None:
    """Why giving the guest ``path`` exposes too much (None: it does not); symlinks resolved."""
    real = Path(recorded.realpath(path))
    home = Path(recorded.realpath(os.path.expanduser("~")))
    if real == Path(real.anchor):
        return "the root of the file system"
    if real == home:
        return "your home directory"
    if home.is_relative_to(real):
        return f"a directory holding your home directory ({home})"
    for name in CREDENTIAL_DIRS:
        if real.is_relative_to(home / name):
            return f"your credentials directory ~/{name}"
    return None


def sensitive_paths(doc: Document, machines: list[build.Merged]) -> Iterator[ProfileError]:
    """Every host path a machine gives its guest that is sensitive and not explicitly allowed."""
    for merged in machines:
        for path, value, allowed in _guest_paths(merged):
            why = sensitive(value)
            if why is None:
                continue
            if not allowed:
                yield doc.error(path, f"{value} is {why}: the guest would get it", ALLOW_HINT)


def _guest_paths(merged: build.Merged) -> Iterator[tuple[KeyPath, str, bool]]:
    """(key path, host path, allowed) of shared folders, copied files, scripts and the DVD."""
    folders: list[schema.SharedFolder] = merged.get("shared_folders") or []
    for i, folder in enumerate(folders):
        yield (*merged.origin("shared_folders"), i, "host"), folder.host, folder.allow_sensitive
    for base, step in merged.steps():
        if step.file is not None:
            yield (*base, "file", "source"), step.file.source, step.file.allow_sensitive
        if step.shell is not None and step.shell.script is not None:
            yield (*base, "shell", "script"), step.shell.script, False
    if merged.get("dvd") is not None:
        yield merged.origin("dvd"), merged.get("dvd"), False


def warnings(doc: Document, machines: list[build.Merged]) -> list[str]:
    """Risky settings the profile is allowed to make, one line each, in file order."""
    found: list[tuple[KeyPath, str]] = []
    for merged in machines:
        nics: list[schema.NicEntry] = merged.get("nics") or []
        for i, entry in enumerate(nics):
            for j, fwd in enumerate(entry.nat.forwards if entry.nat is not None else ()):
                path = (*merged.origin("nics"), i, "nat", "forwards", j)
                found += [((*path, key), text) for key, text in _forward_risks(merged.name, fwd)]
        for path, value, allowed in _guest_paths(merged):
            why = sensitive(value) if allowed else None
            if why is not None:
                found.append((path, f"machine {merged.name!r} gives its guest {value}, {why} "
                                    "(allowed by allow_sensitive)"))
    lines = []
    for path, text in found:
        pos = doc.position(path)
        lines.append(f"{doc.file}:{pos.line if pos else 1}: {format_path(path)}: {text}")
    return sorted(set(lines), key=lines.index)


def _forward_risks(machine: str, fwd: schema.Forward) -> Iterator[tuple[str, str]]:
    rule = build.forward_name(fwd)
    if fwd.host_ip in ANY_ADDRESSES:
        yield "host_ip", (f"machine {machine!r} forward {rule!r} listens on every address of this host "
                          f"({fwd.host_ip or 'all'}): other computers on the network can connect")
    if fwd.host is not None and fwd.host < PRIVILEGED_PORTS:
        yield "host", (f"machine {machine!r} forward {rule!r} uses the privileged host port {fwd.host}: "
                       "it takes a system service's port and needs administrator rights on most hosts")


def secrets_in_names(doc: Document, machines: list[build.Merged], ansible: list[schema.Ansible],
                     values: tuple[str, ...]) -> Iterator[ProfileError]:
    """Names hosted records in VirtualBox (a provisioning step's, an ansible run's: the key of its
    run-once record in the machine's settings) must not hold a secret value, which would be
    stored there in clear.  The error names the key, never the value."""
    named: list[tuple[KeyPath, str | None]] = [((*base, "name"), step.name)
                                               for merged in machines for base, step in merged.steps()]
    named += [(("ansible", i, "name"), run.name) for i, run in enumerate(ansible)]
    for path, name in named:
        if name and any(value in name for value in values):
            yield doc.error(path, "this name holds the value of a secret variable, and hosted records "
                                  "step names in the machine's VirtualBox settings",
                            "Name the step without the secret (a name is a stable label, not data).")


def secrets(declared: list[str] | None, used: Mapping[str, str],
            install_passwords: list[str]) -> tuple[str, ...]:
    """The secret values: of variables declared under ``secrets:`` or named like a secret,
    and the install passwords written in the profile."""
    names = set(declared or ())
    values = [value for name, value in used.items() if name in names or SECRET_NAME.search(name)]
    return tuple(dict.fromkeys(v for v in [*values, *install_passwords] if v))
