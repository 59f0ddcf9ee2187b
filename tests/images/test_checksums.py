"""`sha256: file:URL`: the digest read from the publisher's SHA256SUMS, over real HTTP on loopback."""

from __future__ import annotations

import json
from pathlib import Path

import cli_support  # noqa: F401 -- the backend HOSTED_BACKEND names (hosted imports none itself)
import pytest
from imagekit import Server, serving, sha, vdi, write

from hosted.cli.main import main
from hosted.errors import ImageError
from hosted.events import Recorder
from hosted.images import checksums, digests_in_use, fetch, store
from hosted.images.rewrite import rewrite_sources
from hosted.model import ImageSpec
from hosted.profile import load_profile

DATA = vdi(256 * 1024)
OTHER = vdi(128 * 1024)


def sums(*lines: str) -> bytes:
    return ("".join(line + "\n" for line in lines)).encode()


def image(server_url: str, name: str = "deb.vdi", sums_path: str = "/SHA256SUMS") -> ImageSpec:
    base = server_url.rsplit("/", 1)[0]
    return ImageSpec(name="deb", source=f"{base}/{name}", sha256_file=f"{base}{sums_path}")


def refused(files: dict[str, bytes], sums_path: str = "/SHA256SUMS") -> tuple[ImageError, Server]:
    with serving(files) as server, pytest.raises(ImageError) as info:
        fetch(image(server.url("/deb.vdi"), sums_path=sums_path))
    return info.value, server


@pytest.mark.parametrize(("text", "name", "digest"), [
    (f"{'a' * 64}  deb.vdi", "deb.vdi", "a" * 64),  # sha256sum
    (f"{'A' * 64} *deb.vdi", "deb.vdi", "a" * 64),  # sha256sum --binary (Ubuntu's SHA256SUMS)
    (f"SHA256 (deb.vdi) = {'b' * 64}", "deb.vdi", "b" * 64),  # sha256sum --tag, BSD
    (f"{'c' * 64}  ./deb.vdi", "deb.vdi", "c" * 64),
    (f"{'d' * 64}  amd64/iso-cd/deb.vdi", "deb.vdi", "d" * 64),  # a tree's list, by last part
    (f"\\{'e' * 64}  dir\\\\deb.vdi", "dir\\deb.vdi", "e" * 64),  # escaped name
], ids=["gnu", "binary", "tagged", "dot-slash", "path", "escaped"])
def test_checksum_file_formats(text: str, name: str, digest: str) -> None:
    signed = ("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n# comment\n"
              f"{'f' * 128}  deb.vdi\nSHA512 (deb.vdi) = {'9' * 128}\n{text}\n"
              "-----BEGIN PGP SIGNATURE-----\nxyz\n-----END PGP SIGNATURE-----\n")
    spec = ImageSpec("deb", f"http://x/{name}", sha256_file="http://x/SHA256SUMS")
    assert checksums.lookup(checksums.parse(signed), name, spec, "SUMS") == digest


def test_the_download_is_verified_against_the_listed_digest() -> None:
    listing = sums(f"{sha(OTHER)} *other.vdi", f"{sha(DATA)} *deb.vdi")
    with serving({"/deb.vdi": DATA, "/SHA256SUMS": listing}) as server:
        events = Recorder()
        local = fetch(image(server.url("/deb.vdi")), events)
    assert local.sha256 == sha(DATA) and local.path.read_bytes() == DATA
    assert local.path.parent == store.entry_dir(sha(DATA)), "cached under the digest the list gives"
    assert f"image deb: sha256 {sha(DATA)[:12]} from {server.url('/SHA256SUMS')}" in events.messages("info")
    assert [p for p, _ in server.requests] == ["/SHA256SUMS", "/deb.vdi"]


def test_a_missing_entry_is_refused_before_downloading() -> None:
    listing = sums(f"{sha(DATA)} *deb-12.1.vdi", f"{sha(OTHER)} *other.iso")
    error, server = refused({"/deb.vdi": DATA, "/SHA256SUMS": listing})
    assert f"{server.url('/SHA256SUMS')} has no entry for deb.vdi" in error.message
    assert "deb-12.1.vdi" in error.hint and "same release directory" in error.hint
    assert [p for p, _ in server.requests] == ["/SHA256SUMS"], "the image itself is not fetched"
    assert not error.retryable


def test_a_wrong_listed_digest_is_a_mismatch_and_nothing_is_kept() -> None:
    wrong = sha(OTHER)
    error, server = refused({"/deb.vdi": DATA, "/SHA256SUMS": sums(f"{wrong}  deb.vdi")})
    assert f"expected {wrong}, got {sha(DATA)}" in error.message
    assert server.url("/SHA256SUMS") in error.hint and "run the command again" in error.hint
    assert not store.entry_dir(sha(DATA)).exists() and not store.partial_path(wrong).exists()


def test_a_sha512_list_or_a_web_page_is_not_a_checksum_file() -> None:
    error, _ = refused({"/deb.vdi": DATA, "/SHA512SUMS": sums(f"{'a' * 128}  deb.vdi")}, "/SHA512SUMS")
    assert "lists no sha256 digests" in error.message and "SHA256SUMS" in error.hint


def test_a_checksum_file_that_is_not_there() -> None:
    error, _ = refused({"/deb.vdi": DATA})
    assert "HTTP 404" in error.message and "sha256: file:" in error.hint
    assert not error.retryable


def test_offline_the_digest_read_before_is_used_for_the_cached_image() -> None:
    with serving({"/deb.vdi": DATA, "/SHA256SUMS": sums(f"{sha(DATA)}  deb.vdi")}) as server:
        spec = image(server.url("/deb.vdi"))
        fetch(spec)
    assert checksums.remembered(spec) == sha(DATA)
    assert digests_in_use([spec]) == {sha(DATA)}, "prune keeps it without the network"
    events = Recorder()
    local = fetch(spec, events)  # the server is gone
    assert local.sha256 == sha(DATA)
    [warning] = events.messages("warning")
    assert "cannot read its checksum file" in warning and f"listed before, {sha(DATA)[:12]}" in warning


def test_offline_without_a_digest_read_before() -> None:
    with serving({}) as server:
        spec = image(server.url("/deb.vdi"))
    with pytest.raises(ImageError) as info:
        fetch(spec)
    assert "cannot read its checksum file" in info.value.message and info.value.retryable
    assert digests_in_use([spec]) == set()


def test_a_local_checksum_file_next_to_a_local_image(tmp_path: Path) -> None:
    path = write(tmp_path / "deb.vdi", DATA)
    listing = write(tmp_path / "SHA256SUMS", sums(f"{sha(DATA)}  deb.vdi"))
    assert fetch(ImageSpec("deb", str(path), sha256_file=str(listing))).sha256 == sha(DATA)
    listing.write_bytes(sums(f"{sha(OTHER)}  deb.vdi"))
    with pytest.raises(ImageError, match="sha256 mismatch for the local file"):
        fetch(ImageSpec("deb", str(path), sha256_file=str(listing)))


PROFILE = """\
version: 1
name: sums
images:
  deb:
    source: {source}
    sha256: {sha256}
machines:
  web: {{image: deb}}
"""


def test_the_profile_takes_a_checksum_file_reference(tmp_path: Path) -> None:
    write(tmp_path / "SHA256SUMS", b"")
    cases = {"file:https://example.invalid/12/SHA256SUMS": ("https://example.invalid/12/SHA256SUMS", None),
             "file:./SHA256SUMS": (str(tmp_path / "SHA256SUMS"), None),
             "AB" * 32: (None, "ab" * 32)}
    for value, (listed, digest) in cases.items():
        profile = write(tmp_path / "hosted.yaml", PROFILE.format(
            source="https://example.invalid/12/deb.vdi", sha256=value).encode())
        [spec] = load_profile(profile, {}).images
        assert (spec.sha256_file, spec.sha256) == (listed, digest), value


@pytest.mark.parametrize(("value", "message", "hint"), [
    ("file:ftp://example.invalid/SHA256SUMS", "'ftp://' checksum files are not supported", "https://"),
    ("file:./nowhere/SHA256SUMS", "nowhere/SHA256SUMS does not exist", "relative to the profile"),
    ("sha256:abc", "'sha256:abc' is not a sha256 digest", "`file:` and the URL"),
])
def test_the_profile_refuses_a_bad_reference(tmp_path: Path, value: str, message: str, hint: str) -> None:
    from hosted.errors import ProfileError

    profile = write(tmp_path / "hosted.yaml", PROFILE.format(source="https://example.invalid/deb.vdi",
                                                             sha256=value).encode())
    with pytest.raises(ProfileError) as info:
        load_profile(profile, {})
    assert info.value.key == "images.deb.sha256" and info.value.line == 6
    assert message in info.value.reason and hint in info.value.hint


def test_images_pull_through_the_entry_point(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOSTED_BACKEND", "cli_support:shared")  # prune asks VirtualBox what is in use
    with serving({"/deb.vdi": DATA, "/SHA256SUMS": sums(f"{sha(DATA)} *deb.vdi")}) as server:
        profile = write(tmp_path / "hosted.yaml", PROFILE.format(
            source=server.url("/deb.vdi"), sha256="file:" + server.url("/SHA256SUMS")).encode())
        code = main(["images", "pull", "-f", str(profile)])
        out, err = capsys.readouterr()
        assert code == 0, out + err
        assert sha(DATA)[:12] in out
        assert main(["images", "prune", "--all", "--yes", "-f", str(profile)]) == 0
        capsys.readouterr()
        assert store.entry_dir(sha(DATA)).is_dir(), "prune keeps the image its checksum file lists"
        server.files["/SHA256SUMS"] = sums(f"{'0' * 64} *deb.vdi")  # a new release, not cached
        code = main(["images", "pull", "-f", str(profile)])
        out, err = capsys.readouterr()
    assert code == 1 and "sha256 mismatch" in out + err
    assert f"expected {'0' * 64}" in out + err


def test_a_bundled_profile_drops_the_checksum_file_reference() -> None:
    text = ("version: 1\nname: b\nimages:\n  deb:\n    source: https://h/deb.vdi\n"
            "    sha256: file:https://h/SHA256SUMS   # the publisher's list\n"
            "  pinned: {source: https://h/p.vdi, sha256: " + "a" * 64 + "}\n"
            "machines:\n  web: {image: deb}\n")
    out = rewrite_sources(text, "hosted.yaml", {"deb": "../images/x/deb.vdi", "pinned": "../images/y/p.vdi"})
    assert '    source: "../images/x/deb.vdi"\n    sha256: null   # the publisher\'s list\n' in out
    assert "sha256: " + "a" * 64 in out, "a pasted digest stays"
    assert json.dumps("../images/y/p.vdi") in out
