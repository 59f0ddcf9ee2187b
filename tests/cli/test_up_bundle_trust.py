"""`hosted up -f X.bundle`: what the bundle shares, copies and runs is shown first; an unsigned
bundle runs only when confirmed (or with --yes); one signed by a signer in --trust runs without
asking; a bad signature is refused before anything is extracted.  Through the real entry
point, on the backend double."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import cli_support
import pytest

from hosted.cli.main import main

PROFILE = """\
version: 1
name: trusted
machines:
  web:
    memory: 64M
    state: poweroff
    provision:
      - shell: echo hello from the bundle
"""


@pytest.fixture
def bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cli_support.reset()
    monkeypatch.setenv("HOSTED_BACKEND", "cli_support:shared")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "hosted.yaml").write_text(PROFILE)
    return tmp_path / "lab.bundle"


def keypair(where: Path, name: str) -> tuple[Path, Path]:
    """An ed25519 key and an allowed_signers file naming it for ``name``."""
    if shutil.which("ssh-keygen") is None:
        pytest.skip("needs OpenSSH's ssh-keygen")
    key = where / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)], check=True)
    allowed = where / f"{name}.allowed"
    allowed.write_text(f"{name} {key.with_suffix('.pub').read_text()}")
    return key, allowed


def test_an_unsigned_bundle_is_shown_and_runs_only_when_confirmed(
        bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bundle", "-f", "src/hosted.yaml", "-o", str(bundle)]) == 0
    capsys.readouterr()
    assert main(["up", "-f", str(bundle)]) == 1  # no terminal to ask, no --yes: refused
    out, err = capsys.readouterr()
    assert "echo hello from the bundle" in out + err and "--yes" in out + err
    assert cli_support.shared().list_machines() == []
    assert main(["up", "-f", str(bundle), "--yes"]) == 0
    assert [m.vm_name for m in cli_support.shared().list_machines()] == ["trusted-web"]


def test_a_bundle_signed_by_a_trusted_signer_runs_without_asking(
        bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key, allowed = keypair(tmp_path, "organiser")
    assert main(["bundle", "-f", "src/hosted.yaml", "-o", str(bundle), "--sign", str(key)]) == 0
    assert main(["up", "-f", str(bundle), "--trust", str(allowed)]) == 0
    assert [m.vm_name for m in cli_support.shared().list_machines()] == ["trusted-web"]
    _, other = keypair(tmp_path, "stranger")
    cli_support.reset()
    assert main(["up", "-f", str(bundle), "--trust", str(other)]) == 2  # not signed by a trusted signer
    assert "signature" in capsys.readouterr().err
    assert cli_support.shared().list_machines() == []
