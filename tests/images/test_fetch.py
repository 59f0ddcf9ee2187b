"""fetch over real HTTP on loopback: caching, resume with Range, checksums, offline use."""

from __future__ import annotations

from pathlib import Path

import pytest
from imagekit import dead_url, serving, sha, vdi, write

from hosted.errors import ImageError
from hosted.events import Recorder
from hosted.images import digest, fetch, store
from hosted.model import ImageSpec

DATA = vdi(3 * 1024 * 1024)  # a real VDI header: detected as a disk


def url_image(url: str, data: bytes = DATA, **kw: object) -> ImageSpec:
    return ImageSpec(name="deb", source=url, sha256=sha(data), **kw)  # type: ignore[arg-type]


def test_download_is_verified_and_content_addressed(own_cache: Path) -> None:
    with serving({"/deb.vdi": DATA}) as server:
        events = Recorder()
        local = fetch(url_image(server.url("/deb.vdi")), events)
    assert local.path == own_cache / "images" / "sha256" / sha(DATA) / "deb.vdi"
    assert local.path.read_bytes() == DATA
    assert (local.sha256, local.kind, local.source) == (sha(DATA), "disk", server.url("/deb.vdi"))
    progress = [e for e in events.events if e.kind == "progress"]
    assert progress[-1].percent == 100.0 and "3.1 MB of 3.1 MB" in progress[-1].message
    assert all("MB/s" in e.message or "kB/s" in e.message for e in progress)
    assert not store.partial_path(sha(DATA)).exists()


def test_progress_reports_speed_and_eta_while_downloading() -> None:
    with serving({"/deb.vdi": DATA}) as server:
        server.chunk_delay = 0.02  # 48 chunks: about a second
        events = Recorder()
        fetch(url_image(server.url("/deb.vdi")), events)
    middle = [e for e in events.events if e.kind == "progress" and e.percent and 0 < e.percent < 100]
    assert middle, "progress while the bytes arrive"
    assert all(", ETA " in e.message for e in middle[1:]), [e.message for e in middle]
    percents = [e.percent for e in events.events if e.kind == "progress" and e.percent is not None]
    assert percents == sorted(percents)


def test_an_interrupted_download_resumes_with_a_range_request() -> None:
    with serving({"/deb.vdi": DATA}) as server:
        server.drop_after["/deb.vdi"] = [1_000_000]
        with pytest.raises(ImageError) as info:
            fetch(url_image(server.url("/deb.vdi")), attempts=1)
        assert info.value.retryable and "resumes from 1.0 MB" in info.value.hint
        partial = store.partial_path(sha(DATA))
        assert partial.stat().st_size == 1_000_000, "the bytes received are kept"
        events = Recorder()
        local = fetch(url_image(server.url("/deb.vdi")), events, attempts=1)
    assert server.ranges("/deb.vdi") == [None, "bytes=1000000-"]
    assert local.path.read_bytes() == DATA and local.sha256 == sha(DATA)
    assert not partial.exists()
    assert "resuming the download of deb at 1.0 MB" in events.messages("info")


def test_a_cut_connection_is_resumed_within_one_fetch() -> None:
    with serving({"/deb.vdi": DATA}) as server:
        server.drop_after["/deb.vdi"] = [500_000, 700_000]
        events = Recorder()
        local = fetch(url_image(server.url("/deb.vdi")), events, attempts=3)
    assert server.ranges("/deb.vdi") == [None, "bytes=500000-", "bytes=1200000-"]
    assert local.path.read_bytes() == DATA
    assert len([m for m in events.messages("warning") if "interrupted" in m]) == 2


def test_a_server_that_ignores_range_starts_over() -> None:
    with serving({"/deb.vdi": DATA}) as server:
        server.drop_after["/deb.vdi"] = [400_000]
        server.ignore_range = True
        local = fetch(url_image(server.url("/deb.vdi")), attempts=2)
    assert server.ranges("/deb.vdi") == [None, "bytes=400000-"]
    assert local.path.read_bytes() == DATA, "the 200 answer replaced the partial file, not appended"


def test_wrong_checksum_is_refused_with_both_digests_and_nothing_kept(own_cache: Path) -> None:
    other = b"not the image" * 1000
    with serving({"/deb.vdi": DATA}) as server, pytest.raises(ImageError) as info:
        fetch(ImageSpec("deb", server.url("/deb.vdi"), sha256=sha(other)))
    message = str(info.value)
    assert f"expected {sha(other)}, got {sha(DATA)}" in message
    assert "deleted" in message and "sha256" in info.value.hint
    assert not store.partial_path(sha(other)).exists()
    assert not store.entry_dir(sha(other)).exists() and not store.entry_dir(sha(DATA)).exists()


def test_a_corrupted_resume_is_refused_and_the_next_fetch_starts_clean() -> None:
    with serving({"/deb.vdi": DATA}) as server:
        server.drop_after["/deb.vdi"] = [1_000_000]
        server.corrupt_resume.add("/deb.vdi")
        with pytest.raises(ImageError) as info:
            fetch(url_image(server.url("/deb.vdi")), attempts=2)
        assert f"expected {sha(DATA)}, got " in str(info.value)
        assert not store.partial_path(sha(DATA)).exists()
        server.corrupt_resume.clear()
        local = fetch(url_image(server.url("/deb.vdi")))
    assert server.ranges("/deb.vdi") == [None, "bytes=1000000-", None]
    assert local.path.read_bytes() == DATA


def test_a_cached_image_is_used_offline_with_an_unreachable_url() -> None:
    with serving({"/deb.vdi": DATA}) as server:
        first = fetch(url_image(server.url("/deb.vdi")))
        count = len(server.requests)
        events = Recorder()
        again = fetch(url_image(dead_url("/deb.vdi")), events)
        assert len(server.requests) == count
    assert again.path == first.path and again.sha256 == first.sha256
    assert any("cached" in m for m in events.messages("info"))


def test_an_unreachable_url_that_is_not_cached_fails_with_a_hint() -> None:
    with pytest.raises(ImageError) as info:
        fetch(url_image(dead_url()), attempts=2)
    assert "cannot download deb from http://127.0.0.1:" in str(info.value)
    assert info.value.retryable and "bundle" in info.value.hint


def test_http_errors_are_named_and_not_retried() -> None:
    with serving({}) as server, pytest.raises(ImageError) as info:
        fetch(url_image(server.url("/missing.box")), attempts=3)
    assert "HTTP 404" in str(info.value) and not info.value.retryable
    assert len(server.requests) == 1


def test_a_url_without_sha256_is_refused() -> None:
    with pytest.raises(ImageError, match="without a sha256"):
        fetch(ImageSpec("deb", "https://example.invalid/x.box"))


def test_a_truncated_cache_entry_is_downloaded_again() -> None:
    with serving({"/deb.vdi": DATA}) as server:
        local = fetch(url_image(server.url("/deb.vdi")))
        local.path.write_bytes(DATA[:100])
        again = fetch(url_image(server.url("/deb.vdi")))
        assert len(server.requests) == 2
    assert again.path.read_bytes() == DATA


def test_a_local_file_is_hashed_once_per_size_and_mtime(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "deb.vdi", DATA)
    image = ImageSpec("deb", str(path), sha256=sha(DATA))
    local = fetch(image)
    assert (local.path, local.sha256, local.kind) == (path, sha(DATA), "disk")

    def no_hashing(*args: object, **kw: object) -> str:
        raise AssertionError("hashed again")

    monkeypatch.setattr(digest, "sha256_file", no_hashing)
    assert fetch(image).sha256 == sha(DATA), "the second call uses the remembered digest"
    monkeypatch.undo()
    changed = DATA + b"more"
    path.write_bytes(changed)
    with pytest.raises(ImageError) as info:
        fetch(image)
    assert f"expected {sha(DATA)}, got {sha(changed)}" in str(info.value)
    assert "nothing was imported" in str(info.value)


def test_a_local_file_without_sha256_is_hashed_not_checked(tmp_path: Path) -> None:
    path = write(tmp_path / "deb.vdi", DATA)
    local = fetch(ImageSpec("deb", str(path)))
    assert local.sha256 == sha(DATA)
    assert store.read(sha(DATA)) is not None and store.read(sha(DATA)).source == str(path)  # type: ignore[union-attr]
