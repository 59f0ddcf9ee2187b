"""The fingerprint of a provisioning step, recorded on the machine after it ran.

The step's own fingerprint is widened by the content of the files it uses, so
editing a script or a copied file runs a ``run: once`` step again.  A machine
rebuilt from scratch has no records and so runs everything again.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from hosted.errors import ProvisionError
from hosted.model import ProvisionStep


def step_fingerprint(step: ProvisionStep) -> str:
    """The step's own fingerprint plus a digest of its script or source files."""
    digest = hashlib.sha256(step.fingerprint().encode())
    for path in (step.script, step.source):
        if path:
            try:
                _hash_tree(Path(path), digest)
            except OSError as exc:
                name = exc.filename if exc.filename is not None else path
                raise ProvisionError(
                    f"provisioning step {step.name!r}: cannot read {name}: {exc.strerror or exc}",
                    "check that the step's files exist and are readable", step=step.name) from exc
    return digest.hexdigest()[:16]


def _hash_tree(root: Path, digest: hashlib._Hash) -> None:
    files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
    for path in files:
        if not path.exists():
            continue  # reported when the step runs
        name = path.relative_to(root).as_posix() if root.is_dir() else path.name
        digest.update(f"\0{name}\0{os.stat(path).st_mode & 0o7777:o}\0".encode())
        digest.update(path.read_bytes())
