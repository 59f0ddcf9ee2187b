"""Property-based tests of the bundle reader: whatever the file holds, opening it gives the
path of a profile inside hosted's cache (which then loads, or is a ProfileError) or a named
HostedError, never another exception, and nothing lands outside the cache.

Three kinds of input: bundle-shaped tars (manifests with right and wrong fields, entries of
every tar type with listed and unlisted names, compressed or not); a valid bundle with bytes
changed or cut; and bytes.  Bounded: a few hundred examples, no deadline, no example database.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import hashlib
import io
import json
import lzma
import os
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hosted import paths
from hosted.errors import HostedError, ProfileError
from hosted.images.bundle import open_bundle
from hosted.profile import load_profile

# HOSTED_PROPERTY_EXAMPLES=5000 for a longer hunt (the suite keeps to a few seconds).
BOUNDED = settings(max_examples=int(os.environ.get("HOSTED_PROPERTY_EXAMPLES", "200")), deadline=None,
                   database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
PLANTED = "/tmp/hosted-property-planted"
PROFILE = b"version: 1\nname: lab\nmachines:\n  web: {}\n"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def home() -> Iterator[Path]:
    """hosted's cache and data in a directory of this module's (set for every example)."""
    saved = {k: os.environ.get(k) for k in ("HOSTED_CACHE_DIR", "HOSTED_DATA_DIR")}
    with tempfile.TemporaryDirectory(prefix="hosted-prop-") as directory:
        os.environ["HOSTED_CACHE_DIR"] = f"{directory}/cache/hosted"
        os.environ["HOSTED_DATA_DIR"] = f"{directory}/data/hosted"
        try:
            yield Path(directory)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def open_or_named_error(home: Path, data: bytes) -> Path | HostedError:
    """The property: a profile inside the cache that loads (or is a ProfileError), or a HostedError."""
    bundle = home / "case.bundle"
    bundle.write_bytes(data)
    try:
        profile = open_bundle(bundle)
    except HostedError as exc:
        assert exc.message and exc.hint, exc
        return exc
    finally:
        assert not os.path.lexists(PLANTED), "an entry landed outside the extraction"
    assert profile.resolve().is_relative_to(paths.cache_dir().resolve() / "bundles"), profile
    with contextlib.suppress(ProfileError):
        load_profile(profile, {})
    return profile


def mostly(good: st.SearchStrategy[Any], other: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``good`` nine times in ten: deep enough to reach the checks after the manifest's."""
    return st.integers(0, 9).flatmap(lambda n: other if n == 9 else good)


NAMES = ["profile/s.sh", "profile/d", "profile/d/x", "profile/hosted.yaml", "images/", "hosted-bundle.json",
         "hosted-bundle.sig", "profile", "../escape", PLANTED, "profile/../x", "profile/\x1b", "",
         "profile//x", "./profile/hosted.yaml"]
names = st.one_of(st.sampled_from(NAMES), st.text(max_size=20))
json_values = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8)),
                           lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                   st.dictionaries(st.text(max_size=5), inner, max_size=3)),
                           max_leaves=10)
TYPES = [tarfile.REGTYPE, tarfile.REGTYPE, tarfile.REGTYPE, tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE,
         tarfile.CHRTYPE, tarfile.FIFOTYPE]
PROFILES = [PROFILE, b"version: 1\nname: lab\nmachines:\n  web: {shared_folders: [{host: /}]}\n",
            b"version: 1\nname: lab\nmachines:\n  web: {dvd: ../../../../etc/hostname}\n",
            b"[" * 5000, b"\xff"]
Entry = tuple[str, bytes, bytes, str]  # name, tar type, content, link target


@st.composite
def bundles(draw: st.DrawFn) -> tuple[Any, list[Entry], bytes | None]:
    """(manifest, entries, profile): the manifest mostly lists the entries with their digests."""
    entries: list[Entry] = []
    files, images = [], []
    drawn = st.tuples(names, st.sampled_from(TYPES), st.binary(max_size=64),
                      st.sampled_from(["/etc/passwd", "../x", ""]))
    for name, kind, data, link in draw(st.lists(drawn, max_size=4)):
        if name == "images/":
            name = f"images/{sha(data)}/d.vdi"
            images.append({"name": f"i{len(images)}", "sha256": draw(mostly(st.just(sha(data)), json_values)),
                           "kind": "disk", "source": "d.vdi", "path": name})
        elif draw(st.booleans()):
            files.append({"path": name, "sha256": draw(mostly(st.just(sha(data)), json_values))})
        entries.append((name, kind, data, link))
    profile = draw(st.one_of(st.none(), st.sampled_from(PROFILES)))
    manifest = {"hosted_bundle": draw(mostly(st.just(1), json_values)),
                "environment": draw(mostly(st.just("lab"), json_values)),
                "profile": draw(mostly(st.just("profile/hosted.yaml"), names)),
                "profile_sha256": draw(mostly(st.just(sha(profile or b"")), json_values)),
                "images": draw(mostly(st.just(images), json_values)),
                "files": draw(mostly(st.just(files), json_values))}
    return draw(mostly(st.just(manifest), json_values)), entries, profile


def build(manifest: Any, entries: list[Entry], profile: bytes | None, compress: str) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        head: list[Entry] = [("hosted-bundle.json", tarfile.REGTYPE, json.dumps(manifest).encode(), "")]
        if profile is not None:
            head.append(("profile/hosted.yaml", tarfile.REGTYPE, profile, ""))
        for name, kind, data, link in head + entries:
            info = tarfile.TarInfo(name)
            info.type = kind
            info.linkname = link
            info.size = len(data) if kind == tarfile.REGTYPE else 0
            tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
    raw = out.getvalue()
    return {"": raw, "gz": gzip.compress(raw, mtime=0), "bz2": bz2.compress(raw),
            "xz": lzma.compress(raw)}[compress]


@BOUNDED
@given(case=bundles(), compress=st.sampled_from(["", "", "", "gz", "xz", "bz2"]))
def test_bundle_shaped_tars(home: Path, case: tuple[Any, list[Entry], bytes | None], compress: str) -> None:
    open_or_named_error(home, build(*case, compress))


VALID_MANIFEST = {"hosted_bundle": 1, "environment": "lab", "profile": "profile/hosted.yaml",
                  "profile_sha256": sha(PROFILE), "images": [],
                  "files": [{"path": "profile/s.sh", "sha256": sha(b"echo hi\n")}]}
VALID = build(VALID_MANIFEST, [("profile/s.sh", tarfile.REGTYPE, b"echo hi\n", "")], PROFILE, "")


@BOUNDED
@given(edits=st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.binary(min_size=1, max_size=4)),
                      min_size=1, max_size=4), cut=st.one_of(st.none(), st.integers(0, len(VALID))))
def test_a_valid_bundle_with_bytes_changed_or_cut(home: Path, edits: list[tuple[int, bytes]],
                                                  cut: int | None) -> None:
    data = bytearray(VALID)
    for at, new in edits:
        data[at:at + len(new)] = new
    open_or_named_error(home, bytes(data[:cut]))


@BOUNDED
@given(data=st.binary(max_size=2048))
def test_bytes(home: Path, data: bytes) -> None:
    open_or_named_error(home, data)


def test_the_valid_bundle_opens(home: Path) -> None:
    assert isinstance(open_or_named_error(home, VALID), Path)
