"""Images from elsewhere: limits on what they unpack to, where their OVF points, where a download
may be redirected and how much it may send; a cached file is re-verified; tokens stay secret."""

from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path

import pytest
from imagekit import ovf_xml, serving, sha, tar_bytes, vdi, vmdk, write

from hosted.errors import ImageError
from hosted.images import download, fetch, inspect, store
from hosted.images.archive import UnsafeArchive
from hosted.images.seed import write_seed
from hosted.model import Environment, ImageSpec, MachineSpec, SshSpec

DISK = vdi(512 * 1024)


def sparse_bomb() -> bytes:
    """A 10 kB OVA whose disk is a sparse file of 8 GB (PAX GNU.sparse 1.0)."""
    out = io.BytesIO()
    real = 8 << 30
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in (("vm.ovf", ovf_xml(("disk.vmdk",))),):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        block = (b"1\n%d\n512\n" % (real - 512)).ljust(512, b"\0") + b"x" * 512
        info = tarfile.TarInfo("GNUSparseFile.0/disk.vmdk")
        info.size = len(block)
        info.pax_headers = {"GNU.sparse.major": "1", "GNU.sparse.minor": "0",
                            "GNU.sparse.name": "disk.vmdk", "GNU.sparse.realsize": str(real)}
        tar.addfile(info, io.BytesIO(block))
    return out.getvalue()


def test_a_sparse_file_bomb_is_refused_before_anything_is_written(tmp_path: Path, own_cache: Path) -> None:
    bomb = write(tmp_path / "bomb.ova", sparse_bomb())
    assert bomb.stat().st_size < 16 * 1024
    with pytest.raises(UnsafeArchive) as info:
        inspect(fetch(ImageSpec(name="bomb", source=str(bomb))))
    assert "bomb" in info.value.message and info.value.exit_code == 2
    unpacked = own_cache / "images" / "sha256" / sha(bomb.read_bytes()) / store.UNPACKED
    assert not unpacked.exists()
    assert sum(p.stat().st_size for p in own_cache.rglob("*") if p.is_file()) < 1024 * 1024


def test_a_large_but_plain_archive_is_refused_by_its_ratio(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from hosted.images import archive

    monkeypatch.setattr(archive, "MIN_ALLOWANCE", 1000)
    ova = write(tmp_path / "zeros.ova", tar_bytes({"vm.ovf": ovf_xml(("d.vmdk",)), "d.vmdk": b"\0" * 400_000},
                                                  gz=True))
    with pytest.raises(UnsafeArchive, match="unpacks to"):
        inspect(fetch(ImageSpec(name="zeros", source=str(ova))))


@pytest.mark.parametrize("href", ["/etc/passwd", "../../../etc/passwd", "sub/../../x.vmdk", "file:///etc/passwd"])
def test_an_ovf_href_outside_its_directory_is_refused(tmp_path: Path, href: str) -> None:
    directory = tmp_path / "vm"
    write(directory / "vm.ovf", ovf_xml((href,)))
    write(tmp_path / "x.vmdk", vmdk())
    with pytest.raises(UnsafeArchive) as info:
        inspect(fetch(ImageSpec(name="vm", source=str(directory / "vm.ovf"))))
    assert "outside its directory" in info.value.message and info.value.exit_code == 2


def test_an_ovf_href_that_is_a_link_out_is_refused(tmp_path: Path) -> None:
    directory = tmp_path / "vm"
    write(directory / "vm.ovf", ovf_xml(("disk.vmdk",)))
    write(tmp_path / "elsewhere.vmdk", vmdk())
    (directory / "disk.vmdk").symlink_to(tmp_path / "elsewhere.vmdk")
    with pytest.raises(UnsafeArchive, match="outside its directory"):
        inspect(fetch(ImageSpec(name="vm", source=str(directory / "vm.ovf"))))


def test_a_redirect_to_ftp_is_not_followed() -> None:
    with serving({"/d.vdi": DISK}) as server:
        server.redirects["/d.vdi"] = "ftp://127.0.0.1/d.vdi"
        with pytest.raises(download.RefusedDownload) as info:
            fetch(ImageSpec(name="d", source=server.url("/d.vdi"), sha256=sha(DISK)), attempts=1)
    assert "only http and https" in info.value.message and info.value.exit_code == 2


def test_a_redirect_to_https_or_http_is_followed() -> None:
    with serving({"/real.vdi": DISK}) as server:
        server.redirects["/d.vdi"] = server.url("/real.vdi")
        local = fetch(ImageSpec(name="d", source=server.url("/d.vdi"), sha256=sha(DISK)))
    assert local.path.read_bytes() == DISK


def test_a_download_without_a_length_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(download, "MAX_UNKNOWN_LENGTH", 100_000)
    with serving({"/d.vdi": DISK}) as server:
        server.no_length.add("/d.vdi")
        with pytest.raises(download.RefusedDownload, match="without saying its size"):
            fetch(ImageSpec(name="d", source=server.url("/d.vdi"), sha256=sha(DISK)), attempts=1)
    assert not store.partial_path(sha(DISK)).exists(), "the endless body is not kept"


def test_a_download_without_a_length_under_the_cap_works() -> None:
    with serving({"/d.vdi": DISK}) as server:
        server.no_length.add("/d.vdi")
        assert fetch(ImageSpec(name="d", source=server.url("/d.vdi"), sha256=sha(DISK))).sha256 == sha(DISK)


# Defect 7: a cached image is verified, not trusted on its size.
def test_a_tampered_cached_image_of_the_same_size_is_not_used() -> None:
    with serving({"/d.vdi": DISK}) as server:
        image = ImageSpec(name="d", source=server.url("/d.vdi"), sha256=sha(DISK))
        local = fetch(image)
        stat = local.path.stat()
        tampered = bytearray(DISK)
        tampered[-1] ^= 0xFF
        local.path.write_bytes(bytes(tampered))
        os.utime(local.path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same size, same mtime
        again = fetch(image)
        assert [p for p, _ in server.requests] == ["/d.vdi", "/d.vdi"], "downloaded again"
    assert again.path.read_bytes() == DISK


def test_an_unchanged_cached_image_is_not_hashed_again(monkeypatch: pytest.MonkeyPatch) -> None:
    from hosted.images import digest

    with serving({"/d.vdi": DISK}) as server:
        image = ImageSpec(name="d", source=server.url("/d.vdi"), sha256=sha(DISK))
        fetch(image)

        def no_hashing(*args: object, **kw: object) -> str:
            raise AssertionError("a multi-GB image would be read again on every run")

        monkeypatch.setattr(digest, "sha256_file", no_hashing)
        assert fetch(image).sha256 == sha(DISK)
        assert len(server.requests) == 1


def test_a_touched_but_intact_cached_image_is_hashed_once_and_kept() -> None:
    with serving({"/d.vdi": DISK}) as server:
        image = ImageSpec(name="d", source=server.url("/d.vdi"), sha256=sha(DISK))
        local = fetch(image)
        os.utime(local.path, (1, 1))
        assert fetch(image).path == local.path
        assert len(server.requests) == 1
        entry = store.read(sha(DISK))
        assert entry is not None and entry.stamp[1] == 1_000_000_000


# Defect 8: tokens in image URLs.
def test_a_token_in_a_url_stays_out_of_meta_json_and_http_errors(own_cache: Path) -> None:
    with serving({"/d.vdi?token=s3cr3t": DISK}) as server:
        local = fetch(ImageSpec(name="d", source=server.url("/d.vdi?token=s3cr3t"), sha256=sha(DISK)))
        meta = json.loads((local.path.parent / store.META).read_text())
        assert "s3cr3t" not in json.dumps(meta) and meta["source"].endswith("/d.vdi?token=***")
        with pytest.raises(ImageError) as info:
            fetch(ImageSpec(name="x", source=server.url("/missing?token=s3cr3t"), sha256="0" * 64),
                  attempts=1)
        text = info.value.message + info.value.hint
        assert "HTTP 404" in text and "s3cr3t" not in text and "/missing?token=***" in text
        with pytest.raises(ImageError) as info:
            fetch(ImageSpec(name="x", source=server.url("/x").replace("//", "//me:pa55w0rd@", 1),
                            sha256="0" * 64), attempts=1)
    assert "pa55w0rd" not in info.value.message and "//***@127.0.0.1" in info.value.message


# Defect 6: the seed (user-data) is readable by its owner only.
def test_the_seed_iso_is_private(tmp_path: Path) -> None:
    machine = MachineSpec(name="web", vm_name="t-web", ssh=SshSpec(user="root"), image="d",
                          cloud_init="#cloud-config\npassword: hunter2\n")
    env = Environment(name="lab", path=str(tmp_path / "hosted.yaml"), machines=(machine,),
                      images=(ImageSpec("d", "/x/d.ova", cloud_init=True),))
    old = os.umask(0o022)
    try:
        seed = write_seed(env, machine)
    finally:
        os.umask(old)
    assert seed.stat().st_mode & 0o777 == 0o600
    planted = tmp_path / "victim"
    planted.write_text("keep me")
    (seed.parent / ".cidata.iso.1.tmp").symlink_to(planted)
    write_seed(env, machine)
    assert planted.read_text() == "keep me"
