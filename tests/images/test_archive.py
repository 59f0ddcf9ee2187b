"""Boxes, OVAs and bundles share one safe extraction: links and paths outside are never written."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest
from imagekit import ovf_xml, vmdk, write

from hosted.errors import ImageError
from hosted.images import fetch, inspect, open_bundle
from hosted.images.bundle import MANIFEST
from hosted.model import ImageSpec


def tar_with_odd_entries(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("passwd")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)
        outside = tarfile.TarInfo("../outside.txt")
        outside.size = 1
        tar.addfile(outside, io.BytesIO(b"x"))
    return path


def test_an_ova_with_a_link_and_a_path_outside_unpacks_without_them(tmp_path: Path) -> None:
    ova = tar_with_odd_entries(tmp_path / "vm.ova", {"vm.ovf": ovf_xml(("vm-disk1.vmdk",)),
                                                 "vm-disk1.vmdk": vmdk("ova")})
    info = inspect(fetch(ImageSpec(name="vm", source=str(ova))))
    assert info.ovf is not None
    assert sorted(p.name for p in info.ovf.parent.iterdir()) == ["vm-disk1.vmdk", "vm.ovf"]
    assert not list(tmp_path.rglob("outside.txt"))


def test_a_bundle_with_a_link_is_refused(tmp_path: Path) -> None:
    manifest = json.dumps({"hosted_bundle": 1, "environment": "lab", "profile": "profile/lab.yaml",
                           "profile_sha256": "0" * 64})
    bundle = tar_with_odd_entries(write(tmp_path / "odd.bundle", b""), {MANIFEST: manifest.encode()})
    with pytest.raises(ImageError) as err:
        open_bundle(bundle)
    assert "refusing the entry 'passwd'" in err.value.message and "altered" in err.value.hint
    assert err.value.exit_code == 2
