"""Each environment's own client key pair (ed25519, OpenSSH format).

Generated on first use in the environment's data directory, so ``ssh -i``
and paramiko both read it; the private key is created with mode 0600 (OpenSSH
refuses keys others can read).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import paramiko
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hosted import paths
from hosted.errors import SshError

KEY_NAME = "id_ed25519"


def ensure_keypair(env_name: str) -> Path:
    """The environment's private key path, generating the pair on first use.

    Safe against a concurrent run doing the same: the private key appears
    atomically (hard link of a complete temporary file) and the first one wins.
    """
    directory = paths.environment_dir(env_name) / "ssh"
    private = directory / KEY_NAME
    if not private.exists():
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        _generate(private, comment=f"hosted-{env_name}")
    public = private.with_name(KEY_NAME + ".pub")
    if not public.exists():
        _write_public(private, public, comment=f"hosted-{env_name}")
    return private


def load_private_key(path: Path) -> paramiko.PKey:
    """Any OpenSSH/PEM private key paramiko understands (ed25519, ecdsa, rsa)."""
    try:
        return paramiko.PKey.from_path(path)
    except (OSError, paramiko.SSHException, ValueError) as exc:
        raise SshError(f"cannot read SSH private key {path}: {exc}",
                       hint="the key must be an unencrypted OpenSSH or PEM private key") from exc


def public_key_line(path: Path) -> str:
    """``type base64`` of a private key's public half (what authorized_keys wants)."""
    key = load_private_key(path)
    return f"{key.get_name()} {key.get_base64()}"


def _generate(private: Path, comment: str) -> None:
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                            serialization.NoEncryption())
    tmp = private.with_name(f".{KEY_NAME}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    try:
        os.link(tmp, private)
    except FileExistsError:
        pass  # another run generated it first; use theirs
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    _write_public(private, private.with_name(KEY_NAME + ".pub"), comment)


def _write_public(private: Path, public: Path, comment: str) -> None:
    tmp = public.with_name(f".{public.name}.{os.getpid()}.tmp")
    tmp.write_text(f"{public_key_line(private)} {comment}\n")
    os.replace(tmp, public)
