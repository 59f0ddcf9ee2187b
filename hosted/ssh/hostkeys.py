"""Host-key pinning: one known_hosts file per machine, in OpenSSH's format.

Entries are written under a host-key *alias* (the machine's label), not under
``[127.0.0.1]:PORT``, so a pin survives a changed forwarded port and OpenSSH
finds it through ``HostKeyAlias``.  The first key a machine presents is
pinned; a different key later is refused with HostKeyMismatch.  Keys known in
advance (an image that publishes its host keys) can be pinned before first
contact with ``pin_host_keys``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import paramiko

from hosted.errors import HostKeyMismatch, SshError

# Host-key algorithms a key type can sign with, in preference order.
_ALGORITHMS = {"ssh-rsa": ("rsa-sha2-512", "rsa-sha2-256")}


@dataclass(frozen=True)
class PinnedKey:
    """A host key pinned for a machine."""
    key_type: str  # "ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa", ...
    blob: str  # base64 of the public key blob

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.blob)

    def describe(self) -> str:
        return f"{self.key_type} {self.fingerprint}"


def fingerprint(blob_b64: str) -> str:
    """OpenSSH's SHA256 fingerprint of a base64 key blob."""
    digest = hashlib.sha256(base64.b64decode(blob_b64)).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def read_pins(path: Path, alias: str) -> list[PinnedKey]:
    """The keys pinned for ``alias`` in ``path`` (none if the file is missing)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except (FileNotFoundError, NotADirectoryError):  # no such file: nothing pinned yet
        return []
    except OSError as exc:
        raise SshError(f"cannot read the host-key pins in {path}: {exc.strerror or exc}",
                       hint="it should be a readable file in OpenSSH's known_hosts format") from exc
    pins = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 3 and not line.startswith("#") and alias in fields[0].split(","):
            pins.append(PinnedKey(fields[1], fields[2]))
    return pins


def pin_host_keys(path: Path, alias: str, public_keys: Iterable[str]) -> int:
    """Pin keys given as ``type base64 [comment]`` lines (e.g. a ``*.pub`` file).

    Lines in known_hosts form (``host type base64``) are accepted too; their
    host field is replaced by ``alias``.  Returns how many new keys were pinned.
    """
    known = set(read_pins(path, alias))
    new = [key for key in map(_parse_public, public_keys) if key and key not in known]
    for key in dict.fromkeys(new):
        _append(path, alias, key)
    return len(dict.fromkeys(new))


def forget_host_key(path: Path, alias: str | None = None) -> int:
    """Forget the pins of ``alias`` (all pins if None); returns how many went.

    For a machine that was rebuilt on purpose and now has new host keys.
    """
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return 0
    keep = [ln for ln in lines
            if alias is not None and (not ln.split() or alias not in ln.split()[0].split(","))]
    path.write_text("".join(ln + "\n" for ln in keep), encoding="utf-8", newline="\n")
    return len(lines) - len(keep)


def host_key_algorithms(pins: list[PinnedKey], supported: Iterable[str]) -> tuple[str, ...]:
    """Our preference order with the pinned key types first (as OpenSSH does)."""
    order = list(supported)
    pinned = [a for pin in pins for a in _ALGORITHMS.get(pin.key_type, (pin.key_type,)) if a in order]
    return tuple(dict.fromkeys(pinned + order))


def check_host_key(path: Path, alias: str, key: paramiko.PKey, label: str) -> None:
    """Pin ``key`` on first contact; refuse a key that differs from the pins."""
    offered = PinnedKey(key.get_name(), key.get_base64())
    pins = read_pins(path, alias)
    if not pins:
        _append(path, alias, offered)
        return
    if offered in pins:
        return
    pinned = ", ".join(p.describe() for p in pins)
    raise HostKeyMismatch(
        f"host key of {label} changed: pinned {pinned}; it now offers {offered.describe()}",
        hint=f"if {label} was rebuilt, this is expected: `hosted destroy` it before `hosted up`, "
             f"or forget the old pin with forget_host_key (pin file {path}); "
             "otherwise something else is answering on its SSH port",
    )


def _parse_public(line: str) -> PinnedKey | None:
    fields = line.split()
    if not fields or line.lstrip().startswith("#"):
        return None
    for start in (0, 1):  # "type blob ..." or "host type blob ..."
        if len(fields) > start + 1 and _is_blob(fields[start + 1]):
            return PinnedKey(fields[start], fields[start + 1])
    raise SshError(f"not an SSH public key line: {line.strip()[:60]!r}")


def _is_blob(text: str) -> bool:
    try:
        return len(base64.b64decode(text, validate=True)) > 16
    except (binascii.Error, ValueError):
        return False


def _append(path: Path, alias: str, key: PinnedKey) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Bytes: "\n" only, as OpenSSH writes known_hosts (a text file on Windows would get "\r\n").
        with open(path, "ab") as fh:
            fh.write(f"{alias} {key.key_type} {key.blob}\n".encode())
    except OSError as exc:
        raise SshError(f"cannot pin the host key of {alias} in {path}: {exc.strerror or exc}",
                       hint=f"check that {path.parent} is a directory you can write to") from exc
