"""Offline bundles: a round trip with a dead URL fetches nothing; a damaged bundle is refused."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest
from imagekit import box, dead_url, serving, sha, vdi, write

from hosted.errors import ImageError
from hosted.images import fetch, inspect, open_bundle, write_bundle
from hosted.images.bundle import MANIFEST
from hosted.profile import find_profile, load_profile

DISK = vdi(256 * 1024)
BOX = box({"provider": "virtualbox", "architecture": "amd64"})


def workshop(directory: Path, url: str) -> Path:
    write(directory / "boxes" / "local.box", BOX)
    write(directory / "scripts" / "setup.sh", b"#!/bin/sh\necho ready\n")
    profile = directory / "hosted.yaml"
    profile.write_text(
        "version: 1\nname: lab\nimages:\n"
        f"  net: {{source: '{url}', sha256: {sha(DISK)}}}   # comment kept\n"
        "  box:\n    source: boxes/local.box\n    cloud_init: true\n"
        "machines:\n"
        "  web: {image: net, provision: [{shell: {script: scripts/setup.sh}}]}\n"
        "  db: {image: box}\n")
    return profile


@pytest.fixture
def bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A bundle made while the URL worked; afterwards the URL is dead and the cache is empty."""
    with serving({"/net.vdi": DISK}) as server:
        profile = workshop(tmp_path / "src", server.url("/net.vdi"))
        summary = write_bundle(load_profile(profile), tmp_path / "out" / "lab.bundle")
        assert server.ranges("/net.vdi") == [None]
    assert summary.environment == "lab" and dict(summary.images) == {"net": sha(DISK), "box": sha(BOX)}
    assert summary.files == ("scripts/setup.sh",)
    # Where the bundle is used: another cache, and the original URL is unreachable.
    monkeypatch.setenv("HOSTED_CACHE_DIR", str(tmp_path / "elsewhere-cache" / "hosted"))
    text = profile.read_text().replace(server.url("/net.vdi"), dead_url("/net.vdi"))
    profile.write_text(text)
    return summary.path


def test_a_bundle_installs_with_no_network(bundle: Path, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    import urllib.request

    def no_network(*args: object, **kw: object) -> None:
        raise AssertionError("the network was used")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    monkeypatch.setattr(urllib.request.OpenerDirector, "open", no_network)
    profile = open_bundle(bundle)
    assert profile.is_relative_to(tmp_path / "elsewhere-cache")
    env = load_profile(profile)
    assert "# comment kept" in profile.read_text()
    net, box_image = env.images
    assert Path(net.source).read_bytes() == DISK and net.sha256 == sha(DISK)
    assert box_image.cloud_init is True
    assert fetch(net).sha256 == sha(DISK) and fetch(box_image).sha256 == sha(BOX)
    assert inspect(fetch(box_image)).arch == "x86_64"
    assert Path(env.machines[0].provision[0].script or "").read_bytes() == b"#!/bin/sh\necho ready\n"
    assert open_bundle(bundle) == profile, "extracted once, then reused"


def test_find_profile_opens_a_bundle(bundle: Path) -> None:
    path = find_profile(bundle)
    assert path.name == "hosted.yaml" and load_profile(path).name == "lab"


def test_a_bundle_with_a_damaged_image_is_refused(bundle: Path, tmp_path: Path) -> None:
    damaged = tmp_path / "damaged.bundle"
    with tarfile.open(bundle) as src, tarfile.open(damaged, "w") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read() if member.isfile() else None  # type: ignore[union-attr]
            if member.name.endswith("net.vdi") and data is not None:
                data = data[:-1] + bytes([data[-1] ^ 1])
            dst.addfile(member, io.BytesIO(data) if data is not None else None)
    with pytest.raises(ImageError) as info:
        open_bundle(damaged)
    message = str(info.value)
    assert "image 'net' is corrupt" in message and f"expected {sha(DISK)}, got " in message
    assert not (tmp_path / "elsewhere-cache" / "hosted" / "bundles").exists(), "nothing kept"


def test_a_bundle_missing_an_image_is_refused(bundle: Path, tmp_path: Path) -> None:
    partial = tmp_path / "partial.bundle"
    with tarfile.open(bundle) as src, tarfile.open(partial, "w") as dst:
        for member in src.getmembers():
            if "local.box" not in member.name:
                dst.addfile(member, src.extractfile(member) if member.isfile() else None)
    with pytest.raises(ImageError, match="lacks image 'box'"):
        open_bundle(partial)


def test_not_a_bundle(tmp_path: Path) -> None:
    with tarfile.open(tmp_path / "x.bundle", "w"):
        pass
    with pytest.raises(ImageError) as info:
        open_bundle(tmp_path / "x.bundle")
    assert "not a hosted bundle" in str(info.value) and "hosted bundle" in info.value.hint


def test_the_manifest_lists_every_checksum(bundle: Path) -> None:
    import json

    with tarfile.open(bundle) as tar:
        assert tar.getnames()[0] == MANIFEST
        manifest = json.loads(tar.extractfile(MANIFEST).read())  # type: ignore[union-attr]
    assert {i["name"]: i["sha256"] for i in manifest["images"]} == {"net": sha(DISK), "box": sha(BOX)}
    assert manifest["files"][0]["path"] == "profile/scripts/setup.sh"
    assert len(manifest["profile_sha256"]) == 64
