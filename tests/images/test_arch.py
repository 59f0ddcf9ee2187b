"""CPU architecture names: one table, every spelling of images, boxes and hosts."""

from __future__ import annotations

import pytest

from hosted.errors import ImageError
from hosted.images import arch
from hosted.images.arch import host_arch, normalize_arch
from hosted.images.prepared import PreparedImage
from hosted.images.templates import check_arch
from hosted.model import ImageSpec


@pytest.mark.parametrize(("spelling", "name"), [
    ("x86_64", "x86_64"), ("AMD64", "x86_64"), ("x86", "x86_64"), ("i686", "x86_64"), (" x64 ", "x86_64"),
    ("arm64", "arm64"), ("aarch64", "arm64"), ("ARM", "arm64"), ("arm64v8", "arm64"), ("arm64e", "arm64"),
    ("riscv64", None), ("", None), (None, None),
])
def test_every_spelling_is_one_of_two_names(spelling: str | None, name: str | None) -> None:
    assert normalize_arch(spelling) == name


@pytest.mark.parametrize(("image", "host"), [("amd64", "AMD64"), ("i686", "x86_64"), ("ARM", "aarch64"),
                                             ("x86_64", "riscv64")])  # an unknown host is not refused
def test_an_image_of_the_host_family_passes(image: str, host: str) -> None:
    check_arch(ImageSpec("img", "/img.vdi"), PreparedImage("disk", "/img.vdi", "0" * 64, image), host)


@pytest.mark.parametrize(("image", "host", "other"), [("amd64", "aarch64", "arm64"),
                                                      ("arm64", "AMD64", "amd64")])
def test_an_image_of_another_family_is_refused(image: str, host: str, other: str) -> None:
    with pytest.raises(ImageError) as err:
        check_arch(ImageSpec("img", "/img.vdi"), PreparedImage("disk", "/img.vdi", "0" * 64, image), host)
    assert f"for {image} but this host is {host}" in err.value.message and other in err.value.hint


def test_an_unknown_image_architecture_is_refused() -> None:
    with pytest.raises(ImageError, match="unknown CPU architecture 'sparc'"):
        check_arch(ImageSpec("img", "/img.vdi", arch="sparc"), PreparedImage("disk", "/img.vdi", "0" * 64),
                   "x86_64")


@pytest.mark.parametrize(("machine", "native", "host"), [
    ("x86_64", "arm64", "arm64"),  # an x86_64 Python under Rosetta 2 on an Apple silicon Mac
    ("AMD64", "arm64", "arm64"),  # x64 emulation on Windows on Arm
    ("x86_64", None, "x86_64"),  # a native x86_64 computer
    ("arm64", None, "arm64"),
])
def test_the_host_is_the_computer_not_the_python(machine: str, native: str | None, host: str) -> None:
    assert host_arch(machine, emulated=lambda: native) == host


def test_an_x86_image_is_refused_on_an_apple_silicon_mac_whose_python_runs_under_rosetta(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 16, 8: platform.machine() says x86_64 under Rosetta; VirtualBox runs ARM guests only."""
    monkeypatch.setattr(arch.platform, "machine", lambda: "x86_64")
    monkeypatch.setattr(arch.hostinfo, "native_under_emulation", lambda: "arm64")
    with pytest.raises(ImageError) as err:
        check_arch(ImageSpec("img", "/img.vdi"), PreparedImage("disk", "/img.vdi", "0" * 64, "amd64"))
    assert "this host is arm64" in err.value.message
    check_arch(ImageSpec("img", "/img.vdi"), PreparedImage("disk", "/img.vdi", "0" * 64, "aarch64"))


def test_no_probe_where_there_is_no_emulation() -> None:
    assert arch.hostinfo.native_under_emulation() is None  # where there is no emulation
