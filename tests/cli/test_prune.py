"""`hosted images prune` keeps every image a machine on this host still uses, whichever profile
made it and with no profile at all: VirtualBox's templates that have clones, and an installer
ISO a machine has in its drive.  What goes is asked for first (or --yes)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import cli_support
import pytest

from hosted.cli.main import main
from hosted.images import store

VDI_HEADER = b"<<< Oracle VM VirtualBox Disk Image >>>\n".ljust(64, b"\0") + bytes.fromhex("7f10dabe")


def vdi(path: Path, fill: bytes) -> Path:
    path.write_bytes(VDI_HEADER + fill * 444)
    return path


def profile(name: str, image: str) -> str:
    return (f"version: 1\nname: {name}\nimages:\n  base: {{source: {image}}}\nmachines:\n"
            f"  web: {{image: base, state: poweroff}}\n")


@pytest.fixture
def host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Path:
    """Two projects, each with its own image and one machine cloned from it; cwd has no profile."""
    cli_support.reset()
    monkeypatch.setenv("HOSTED_BACKEND", "cli_support:shared")
    monkeypatch.setenv("HOSTED_CACHE_DIR", str(tmp_path / "cache"))  # this test's images only
    monkeypatch.delenv("HOSTED_FILE", raising=False)
    for name, fill in (("one", b"\1"), ("two", b"\2")):
        (tmp_path / name).mkdir()
        vdi(tmp_path / name / "base.vdi", fill)
        (tmp_path / name / "hosted.yaml").write_text(profile(name, "./base.vdi"))
        assert main(["up", "-f", str(tmp_path / name)]) == 0
    (tmp_path / "nowhere").mkdir()
    monkeypatch.chdir(tmp_path / "nowhere")
    capsys.readouterr()
    return tmp_path


def digests() -> set[str]:
    return {e.sha256 for e in store.entries()}


def age_everything(days: float) -> None:
    for entry in store.entries():
        store.write(store.Entry(**{**entry.__dict__, "last_used": time.time() - days * 86400}))


def test_images_machines_use_are_kept_without_a_profile(host: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    both = digests()
    assert len(both) == 2 and len(cli_support.shared().list_templates()) == 2
    age_everything(100)
    assert main(["images", "prune", "--all", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["removed"] == [] and data["templates_removed"] == []
    assert set(data["kept_in_use"]) == both and data["kept_for_profile"] == []
    assert digests() == both

    # Project two's machine goes: its image and template are no longer used by anyone.
    assert main(["destroy", "-y", "-f", str(host / "two")]) == 0
    capsys.readouterr()
    assert main(["images", "prune", "--all"]) == 1, "no terminal, no --yes: asked, refused"
    err = capsys.readouterr().err
    assert "remove template hosted-template-" in err and "remove image" in err
    assert digests() == both
    assert main(["images", "prune", "--all", "-y"]) == 0
    out = capsys.readouterr().out
    assert "removed unused template hosted-template-" in out and out.count("template hosted-") == 1
    assert "Removed 1 cached file(s) and 1 template(s)" in out
    assert "1 kept: machines on this host use them." in out
    assert len(digests()) == 1 and len(cli_support.shared().list_templates()) == 1


def test_the_profile_s_images_are_kept_too(host: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["destroy", "-y", "-f", str(host / "two")]) == 0
    assert main(["images", "prune", "--all", "-y", "-f", str(host / "two")]) == 0
    capsys.readouterr()
    assert len(digests()) == 2, "two's image: its profile uses it; one's: its machine does"
    assert len(cli_support.shared().list_templates()) == 2


def test_nothing_to_remove_asks_nothing(host: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["images", "prune"]) == 0
    assert "Nothing to remove. 2 kept: machines on this host use them." in capsys.readouterr().out


def test_without_virtualbox_nothing_is_removed(host: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HOSTED_BACKEND", "cli_support:unavailable")
    assert main(["images", "prune", "--all", "-y"]) == 3
    assert "cannot tell which images its machines use, so nothing was removed" in capsys.readouterr().err
    assert len(digests()) == 2


def test_an_installer_iso_a_machine_installs_from_is_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    from images.imagekit import serving, sha
    from installer_iso import write_debian_netinst

    cli_support.reset()
    monkeypatch.setenv("HOSTED_BACKEND", "cli_support:shared")
    monkeypatch.setenv("HOSTED_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("HOSTED_FILE", raising=False)
    iso = write_debian_netinst(tmp_path / "debian.iso").read_bytes()
    with serving({"/debian.iso": iso}) as server:
        (tmp_path / "hosted.yaml").write_text(
            f"version: 1\nname: inst\nimages:\n  deb: {{source: '{server.url('/debian.iso')}', "
            f"sha256: {sha(iso)}}}\nmachines:\n  web: {{image: deb, disk: 2G, state: poweroff}}\n")
        assert main(["up", "-f", str(tmp_path)]) == 0
    [web] = [m for m in cli_support.shared().list_machines() if m.tags is not None]
    assert web.dvd is not None and web.dvd.endswith(".viso"), "the install's VISO wraps the cached ISO"
    (tmp_path / "nowhere").mkdir()
    monkeypatch.chdir(tmp_path / "nowhere")
    capsys.readouterr()
    assert main(["images", "prune", "--all", "-y", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["kept_in_use"] == [sha(iso)]
    assert digests() == {sha(iso)}
