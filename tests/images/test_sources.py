"""Detecting and unpacking real image files: Vagrant boxes, OVA, OVF, disks, ISOs; architectures."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest
from imagekit import box, iso, ova, ovf_xml, sha, tar_bytes, vdi, vmdk, write

from hosted.errors import ImageError
from hosted.images import fetch, inspect, sources, store
from hosted.images.detect import detect
from hosted.model import ImageSpec


def local(path: Path, kind: str = "auto") -> ImageSpec:
    return ImageSpec(name="img", source=str(path), kind=kind)  # type: ignore[arg-type]


def test_a_vagrant_box_is_detected_and_unpacked_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = box({"provider": "virtualbox", "architecture": "amd64"})
    image = fetch(local(write(tmp_path / "debian12.box", data)))
    assert image.kind == "box"
    info = inspect(image)
    unpacked = store.entry_dir(sha(data)) / "unpacked"
    assert info.ovf == unpacked / "box.ovf"
    assert info.disks == (unpacked / "box-disk001.vmdk",)
    assert info.disks[0].read_bytes() == vmdk("box")
    assert (info.kind, info.arch, info.os_type) == ("box", "x86_64", "Debian_64")
    assert info.box["provider"] == "virtualbox"

    def no_extract(*args: object, **kw: object) -> None:
        raise AssertionError("unpacked twice")

    monkeypatch.setattr(sources, "extract_tar", no_extract)
    assert inspect(image) == info
    assert not list(unpacked.parent.glob(".unpack-*")), "no temporary directory left behind"


def test_a_box_for_another_provider_is_refused(tmp_path: Path) -> None:
    image = fetch(local(write(tmp_path / "x.box", box({"provider": "libvirt"}))))
    with pytest.raises(ImageError) as info:
        inspect(image)
    assert "'libvirt' provider, not VirtualBox" in str(info.value)
    assert "--provider virtualbox" in info.value.hint


def test_a_box_in_the_vagrant_box_store_is_used_in_place(tmp_path: Path) -> None:
    directory = tmp_path / ".vagrant.d" / "boxes" / "debian-VAGRANTSLASH-bookworm64" / "12.1" / "virtualbox"
    write(directory / "metadata.json", json.dumps({"provider": "virtualbox"}).encode())
    write(directory / "box.ovf", ovf_xml(os_type="Debian_arm64"))
    write(directory / "box-disk001.vmdk", vmdk())
    image = fetch(local(directory))
    assert image.kind == "box" and image.path == directory
    info = inspect(image)
    assert info.ovf == directory / "box.ovf" and info.disks == (directory / "box-disk001.vmdk",)
    assert info.arch == "arm64"
    assert not (store.entry_dir(image.sha256) / "unpacked").exists(), "nothing copied"
    write(directory / "box-disk001.vmdk", vmdk("changed"))
    assert fetch(local(directory)).sha256 != image.sha256, "the tree digest covers every file"


def test_an_ova_is_detected_with_its_platform(tmp_path: Path) -> None:
    image = fetch(local(write(tmp_path / "vm.ova", ova(platform="ARM", os_type="Ubuntu_arm64"))))
    info = inspect(image)
    assert (info.kind, info.arch, info.os_type) == ("ova", "arm64", "Ubuntu_arm64")
    assert info.ovf is not None and info.ovf.name == "vm.ovf"
    assert [d.name for d in info.disks] == ["vm-disk1.vmdk"]


def test_an_ovf_with_its_disks_beside_it(tmp_path: Path) -> None:
    write(tmp_path / "vm" / "a.vmdk", vmdk("a"))
    write(tmp_path / "vm" / "b.vmdk", vmdk("b"))
    descriptor = write(tmp_path / "vm" / "vm.ovf",
                       ovf_xml(("a.vmdk", "b.vmdk"), os_type=None, platform="x86"))
    info = inspect(fetch(local(descriptor)))
    assert (info.kind, info.ovf, info.arch) == ("ovf", descriptor, "x86_64")
    assert info.disks == (tmp_path / "vm" / "a.vmdk", tmp_path / "vm" / "b.vmdk")
    (tmp_path / "vm" / "b.vmdk").unlink()
    with pytest.raises(ImageError, match=r"refers to b\.vmdk, which is not beside it"):
        inspect(fetch(local(descriptor)))


def test_an_ovf_that_does_not_say_has_no_architecture(tmp_path: Path) -> None:
    write(tmp_path / "a.vmdk", vmdk())
    descriptor = write(tmp_path / "vm.ovf", ovf_xml(("a.vmdk",), os_type=None))
    assert inspect(fetch(local(descriptor))).arch is None


@pytest.mark.parametrize(("metadata", "os_type", "platform", "arch"), [
    ({"provider": "virtualbox"}, "Debian_64", None, "x86_64"),
    ({"provider": "virtualbox"}, "Debian", None, "x86_64"),
    ({"provider": "virtualbox"}, "Ubuntu_arm64", None, "arm64"),
    ({"provider": "virtualbox"}, "Other", "ARM", "arm64"),
    ({"provider": "virtualbox", "architecture": "arm64"}, "Debian_64", None, "arm64"),
    ({"provider": "virtualbox", "architecture": "aarch64"}, None, None, "arm64"),
    ({"provider": "virtualbox", "architecture": "amd64"}, None, None, "x86_64"),
    ({"provider": "virtualbox"}, None, None, None),
])
def test_architecture_from_the_image(tmp_path: Path, metadata: dict[str, object], os_type: str | None,
                                     platform: str | None, arch: str | None) -> None:
    image = fetch(local(write(tmp_path / "x.box", box(metadata, os_type=os_type, platform=platform))))
    assert inspect(image).arch == arch


def test_disk_images(tmp_path: Path) -> None:
    for name, data in (("a.vdi", vdi()), ("b.vmdk", vmdk()), ("c.vhd", b"conectix" + b"\0" * 1024)):
        image = fetch(local(write(tmp_path / name, data)))
        info = inspect(image)
        assert (image.kind, info.ovf, info.disks, info.arch) == ("disk", None, (tmp_path / name,), None)


def test_a_fixed_vhd_has_its_footer_at_the_end(tmp_path: Path) -> None:
    assert detect(write(tmp_path / "d.vhd", b"\0" * 4096 + b"conectix" + b"\0" * 504)) == "disk"


def test_an_installer_iso(tmp_path: Path) -> None:
    image = fetch(local(write(tmp_path / "debian.iso", iso())))
    info = inspect(image)
    assert (image.kind, info.iso, info.disks) == ("iso", tmp_path / "debian.iso", ())


def test_a_declared_kind_that_does_not_match_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ImageError) as info:
        fetch(local(write(tmp_path / "x.box", box()), kind="ova"))
    assert "declared `kind: ova` but it is a Vagrant box" in str(info.value) and "kind:" in info.value.hint
    assert fetch(local(tmp_path / "x.box", kind="box")).kind == "box"


@pytest.mark.parametrize(("data", "message", "hint"), [
    (b"QFI\xfb" + b"\0" * 600, "qcow2", "qemu-img convert"),
    (b"just some text\n" * 10, "not an image hosted knows", ".ova"),
    (tar_bytes({"readme.txt": b"hi"}), "archive without an OVF", "metadata.json"),
    (box()[:200], "not a readable archive", "fetch it again"),
])
def test_files_that_are_not_images(tmp_path: Path, data: bytes, message: str, hint: str) -> None:
    with pytest.raises(ImageError) as info:
        fetch(local(write(tmp_path / "x.img", data)))
    assert message in str(info.value) and hint in info.value.hint


def test_a_directory_without_an_ovf_is_refused(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    write(tmp_path / "empty" / "notes.txt", b"x")
    with pytest.raises(ImageError, match="without one OVF descriptor"):
        fetch(local(tmp_path / "empty"))


def test_unpacking_stays_inside_the_cache(tmp_path: Path) -> None:
    data = tar_bytes({"metadata.json": b'{"provider": "virtualbox"}', "box.ovf": ovf_xml(),
                      "box-disk001.vmdk": vmdk(), "../escaped.txt": b"x", "/abs.txt": b"y"}, gz=True)
    info = inspect(fetch(local(write(tmp_path / "sub" / "evil.box", data))))
    assert info.ovf is not None and info.ovf.is_file()
    assert not (store.entry_dir(sha(data)) / "escaped.txt").exists()
    assert not (tmp_path / "sub" / "escaped.txt").exists() and not Path("/abs.txt").exists()
    with tarfile.open(tmp_path / "sub" / "evil.box") as tar:
        assert "../escaped.txt" in tar.getnames(), "the archive really held the bad member"


def test_the_tree_digest_is_the_documented_sha256sum_listing(tmp_path: Path) -> None:
    import hashlib

    from hosted.images.digest import sha256_of

    files = {"box.ovf": b"o", "a-b/x": b"1", "a/b": b"2", ".hidden": b"3"}
    for name, data in files.items():
        write(tmp_path / "d" / name, data)
    listing = "".join(f"{sha(files[n])}  {n}\n" for n in sorted(files, key=lambda n: n.encode()))
    assert sha256_of(tmp_path / "d") == hashlib.sha256(listing.encode()).hexdigest()
