"""A file system that refuses (no space, a file in the way) gives an ImageError naming
the path, never a raw OSError."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest
from imagekit import serving, sha, vdi, write

from hosted.errors import ImageError
from hosted.images import fetch, open_bundle, store, write_bundle
from hosted.images.bundle import MANIFEST
from hosted.model import ImageSpec
from hosted.profile import load_profile

DATA = vdi(64 * 1024)


def test_a_download_that_cannot_be_stored_is_an_image_error() -> None:
    write(store.entry_dir(sha(DATA)), b"a file where the entry's directory goes")
    with serving({"/deb.vdi": DATA}) as server, pytest.raises(ImageError) as info:
        fetch(ImageSpec(name="deb", source=server.url("/deb.vdi"), sha256=sha(DATA)))
    assert str(store.entry_dir(sha(DATA))) in info.value.message + info.value.hint


def test_a_bundle_that_cannot_be_written_is_an_image_error(tmp_path: Path) -> None:
    write(tmp_path / "deb.vdi", DATA)
    profile = tmp_path / "hosted.yaml"
    profile.write_text("version: 1\nname: lab\nimages:\n  deb: {source: deb.vdi}\n"
                       "machines:\n  web: {image: deb}\n")
    output = tmp_path / "out.bundle"
    output.mkdir()  # a directory in the way
    with pytest.raises(ImageError) as info:
        write_bundle(load_profile(profile), output)
    assert str(output) in info.value.message + info.value.hint
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_a_bundle_that_cannot_be_extracted_is_an_image_error(tmp_path: Path) -> None:
    files = [{"path": "profile/x", "sha256": "0" * 64}, {"path": "profile/x/y", "sha256": "1" * 64}]
    manifest = json.dumps({"hosted_bundle": 1, "environment": "lab", "profile": "profile/lab.yaml",
                           "profile_sha256": "2" * 64, "files": files})
    bundle = tmp_path / "odd.bundle"
    with tarfile.open(bundle, "w") as tar:
        for name, data in ((MANIFEST, manifest.encode()), ("profile/x", b"a file"),
                           ("profile/x/y", b"under the file")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with pytest.raises(ImageError) as err:
        open_bundle(bundle)
    assert "profile/x" in err.value.message and str(bundle) in err.value.message
