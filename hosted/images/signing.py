"""Signed bundles, with OpenSSH's own signatures (``ssh-keygen -Y sign`` / ``-Y verify``).

What is signed is the bundle's manifest: it lists the sha256 of the profile,
of every file and of every image, and ``open_bundle`` checks the contents
against it, so a good signature of the manifest vouches for the whole bundle.
The signature (namespace ``hosted-bundle``) is the bundle's second entry,
``hosted-bundle.sig``, so a signed bundle stays one file.

Who may sign is an OpenSSH *allowed signers* file (``man ssh-keygen``,
"ALLOWED SIGNERS"), one line per signer::

    organiser@example.org ssh-ed25519 AAAAC3Nza...

``verify_bundle`` returns the principal that signed; an unsigned bundle is
``UnsignedBundle``, a signature no allowed signer made (or one that does not
match) is ``BadSignature``; both exit 2.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from hosted import files, paths
from hosted.images.manifest import MANIFEST, SIGNATURE, BundleError

NAMESPACE = "hosted-bundle"
TIMEOUT = 120.0


class UnsignedBundle(BundleError):
    """The bundle carries no signature (it needs the user's confirmation instead)."""


class BadSignature(BundleError):
    """The bundle's signature is not one an allowed signer made for this manifest."""


def sign_data(data: bytes, key: Path) -> bytes:
    """An OpenSSH signature (armored) of ``data`` by the private ``key`` (or its .pub with an agent)."""
    if not key.is_file():
        raise BundleError(f"no signing key at {key}", "Give the path of an OpenSSH private key: "
                          "`hosted bundle --sign ~/.ssh/id_ed25519`.")
    proc = _ssh_keygen(["-Y", "sign", "-f", str(key), "-n", NAMESPACE], data)
    if proc.returncode != 0 or b"BEGIN SSH SIGNATURE" not in proc.stdout:
        raise BundleError(f"ssh-keygen could not sign with {key}: {_said(proc)}",
                          "Check that the key is an OpenSSH private key you can read (and its passphrase).")
    return proc.stdout


def sign_bundle(path: Path, key: Path) -> Path:
    """Sign the bundle at ``path`` with ``key``, replacing any signature it has; returns ``path``.

    The bundle is copied once (its signature goes right after the manifest)."""
    from hosted.images.bundle import add_bytes, read_manifest

    manifest = read_manifest(path)
    signature = sign_data(manifest.raw, key)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as out, tarfile.open(path, "r:") as src, \
                tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as dst:
            for n, member in enumerate(src):
                if n == 1 and member.name == SIGNATURE:
                    continue
                dst.addfile(member, src.extractfile(member) if member.isfile() else None)
                if n == 0:
                    add_bytes(dst, SIGNATURE, signature)
        os.chmod(tmp, os.stat(path).st_mode & 0o777)
        files.replace(tmp, path)
    except (OSError, tarfile.TarError) as exc:
        raise BundleError(f"cannot sign {path}: {exc}",
                          f"Check free space and permissions in {path.parent}.") from None
    finally:
        tmp.unlink(missing_ok=True)
    return path


def verify_bundle(path: Path, allowed_signers: Path) -> str:
    """Who signed the bundle at ``path``: the principal of ``allowed_signers`` whose key made its
    signature.  UnsignedBundle if it has none, BadSignature if it is not good (both exit 2)."""
    from hosted.images.bundle import read_manifest

    signer = read_manifest(path, allowed_signers).signer
    assert signer is not None  # verify_signature raises unless the signature is good
    return signer


def verify_signature(path: Path, data: bytes, signature: bytes | None, allowed_signers: Path) -> str:
    """The principal whose good signature of ``data`` is ``signature``; else UnsignedBundle / BadSignature."""
    if signature is None:
        raise UnsignedBundle(f"{path} is not signed",
                             "Ask who made it for a signed bundle (`hosted bundle --sign KEY`), or check "
                             "what it shares, copies and runs before you trust it.")
    if not allowed_signers.is_file():
        raise BundleError(f"no allowed signers file at {allowed_signers}",
                          "Give an OpenSSH allowed_signers file: lines of `PRINCIPAL KEYTYPE KEY`.")
    with tempfile.TemporaryDirectory(prefix="hosted-verify-", dir=paths.scratch_dir()) as scratch:
        sig = Path(scratch) / "bundle.sig"
        sig.write_bytes(signature)
        found = _ssh_keygen(["-Y", "find-principals", "-s", str(sig), "-f", str(allowed_signers)], b"")
        principals = [p for p in found.stdout.decode(errors="replace").splitlines() if p.strip()]
        for principal in principals if found.returncode == 0 else ():
            checked = _ssh_keygen(["-Y", "verify", "-f", str(allowed_signers), "-I", principal,
                                   "-n", NAMESPACE, "-s", str(sig)], data)
            if checked.returncode == 0:
                return principal
    raise BadSignature(f"{path}: its signature is not a good one by anyone in {allowed_signers}",
                       "Do not use this bundle: it was altered, or signed by a key you do not trust. "
                       "Ask its maker for the bundle again, and for their public key.")


def signed_by(path: Path) -> bool:
    """Whether the bundle carries a signature at all (not whether it is good)."""
    from hosted.images.bundle import _head

    return _head(path)[1] is not None


def _ssh_keygen(args: list[str], stdin: bytes) -> subprocess.CompletedProcess[bytes]:
    program = shutil.which("ssh-keygen")
    if program is None:
        raise BundleError("ssh-keygen (OpenSSH) is not installed: bundles are signed and verified with it",
                          "Install OpenSSH's client tools (Debian: openssh-client).")
    try:
        return subprocess.run([program, *args], input=stdin, capture_output=True, timeout=TIMEOUT,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BundleError(f"ssh-keygen failed: {exc}", "Check the OpenSSH installation.") from None


def _said(proc: subprocess.CompletedProcess[bytes]) -> str:
    return proc.stderr.decode(errors="replace").strip().splitlines()[-1][:200] if proc.stderr.strip() \
        else f"exit status {proc.returncode}"


__all__ = ["MANIFEST", "NAMESPACE", "BadSignature", "UnsignedBundle", "sign_bundle", "sign_data",
           "signed_by", "verify_bundle", "verify_signature"]
