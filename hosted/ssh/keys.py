"""Each environment's own client key pair (ed25519, OpenSSH format).

Generated on first use in the environment's data directory, so ``ssh -i``
and paramiko both read it; the private key is created with mode 0600 (OpenSSH
refuses keys others can read).
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from hosted import files, paths
from hosted.errors import SshError
from hosted.model import SshSpec

if TYPE_CHECKING:  # paramiko and cryptography are loaded by what uses keys, not by `hosted status`
    import paramiko

KEY_NAME = "id_ed25519"
# Threads of one run take turns; other runs are kept safe by the atomic link/rename.
_LOCK = threading.Lock()


def ensure_keypair(env_name: str) -> Path:
    """The environment's private key path, generating the pair on first use.

    Safe against other threads (``hosted up`` brings machines up in threads)
    and other runs doing the same: each writer has its own temporary file,
    the private key appears atomically (hard link of a complete file, the
    first one wins) and the public key by an atomic rename.
    """
    directory = paths.environment_dir(env_name) / "ssh"
    private = directory / KEY_NAME
    public = private.with_name(KEY_NAME + ".pub")
    comment = f"hosted-{env_name}"
    with _LOCK:
        try:
            if not private.exists():
                directory.mkdir(parents=True, exist_ok=True, mode=0o700)
                _generate(private)
            if not public.exists():
                _write_public(private, public, comment)
        except OSError as exc:
            raise SshError(f"cannot create the SSH key pair of environment {env_name!r}: {exc}",
                           hint=f"check that {directory} is a directory you can write to") from exc
    return private


def client_key(env_name: str, spec: SshSpec) -> Path:
    """The private key a machine's SSH login uses: its own, or the environment's pair."""
    return Path(spec.private_key) if spec.private_key else ensure_keypair(env_name)


def load_private_key(path: Path) -> paramiko.PKey:
    """Any OpenSSH/PEM private key paramiko understands (ed25519, ecdsa, rsa)."""
    import paramiko

    try:
        return paramiko.PKey.from_path(path)
    except (OSError, paramiko.SSHException, ValueError) as exc:
        raise SshError(f"cannot read SSH private key {path}: {exc}",
                       hint="the key must be an unencrypted OpenSSH or PEM private key") from exc


def public_key_line(path: Path) -> str:
    """``type base64`` of a private key's public half (what authorized_keys wants)."""
    key = load_private_key(path)
    return f"{key.get_name()} {key.get_base64()}"


def _generate(private: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                            serialization.NoEncryption())
    tmp = _write_temporary(private, pem, 0o600)
    try:
        os.link(tmp, private)
    except FileExistsError:
        pass  # another run generated it first; use theirs
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _write_public(private: Path, public: Path, comment: str) -> None:
    tmp = _write_temporary(public, f"{public_key_line(private)} {comment}\n".encode(), 0o644)
    try:
        files.replace(tmp, public)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _write_temporary(beside: Path, data: bytes, mode: int) -> Path:
    """A complete file with ``data`` next to ``beside``, under a name no other writer uses."""
    import tempfile  # only when a key is made: `status` reaches this module for its endpoints

    fd, name = tempfile.mkstemp(prefix=f".{beside.name}.", suffix=".tmp", dir=beside.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(name, mode)  # mkstemp makes it 0600
    except BaseException:
        os.unlink(name)
        raise
    return Path(name)
