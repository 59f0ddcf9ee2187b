"""Bundles from other people: the manifest is confined and checked, nothing unlisted is used,
nothing is left behind when a bundle is refused; signatures; what a bundle will do."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest
from imagekit import sha, vdi, write

from hosted.errors import HostedError
from hosted.events import Recorder
from hosted.images import open_bundle, summarize, write_bundle
from hosted.images.bundle import MANIFEST, BundleError
from hosted.images.signing import BadSignature, UnsignedBundle, sign_bundle, verify_bundle
from hosted.profile import load_profile

DISK = vdi(64 * 1024)
PROFILE = b"version: 1\nname: lab\nmachines:\n  web: {}\n"


def tar_of(path: Path, manifest: Any, members: dict[str, bytes]) -> Path:
    """A bundle-shaped tar: the manifest (any JSON value) first, then ``members``."""
    with tarfile.open(path, "w") as tar:
        for name, data in {MANIFEST: json.dumps(manifest).encode(), **members}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def manifest(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"hosted_bundle": 1, "environment": "lab", "profile": "profile/hosted.yaml",
                            "profile_sha256": sha(PROFILE), "images": [], "files": []}
    return {**base, **changes}


def refused(bundle: Path) -> BundleError:
    with pytest.raises(BundleError) as info:
        open_bundle(bundle)
    assert info.value.exit_code == 2 and info.value.hint
    return info.value


def test_a_valid_hand_made_bundle_opens(tmp_path: Path) -> None:
    bundle = tar_of(tmp_path / "ok.bundle", manifest(), {"profile/hosted.yaml": PROFILE})
    assert load_profile(open_bundle(bundle)).name == "lab"


# Defect 1: a manifest's paths are confined to the bundle; no message tells a host file's
# digest or whether it exists.
@pytest.mark.parametrize("field", ["profile", "image", "file"])
@pytest.mark.parametrize("where", ["/etc/hostname", "profile/../../../../etc/hostname"])
def test_paths_outside_the_bundle_are_refused_without_an_oracle(tmp_path: Path, field: str,
                                                                where: str) -> None:
    target = Path("/etc/hostname")
    digest = sha(target.read_bytes()) if target.is_file() else "no such digest"

    def bundle_for(path: str, name: str) -> Path:
        if field == "profile":
            m = manifest(profile=path)
        elif field == "image":
            image = {"name": "i", "sha256": "0" * 64, "kind": "disk", "source": "x", "path": path}
            m = manifest(images=[image])
        else:
            m = manifest(files=[{"path": path, "sha256": "0" * 64}])
        return tar_of(tmp_path / name, m, {"profile/hosted.yaml": PROFILE})

    existing = refused(bundle_for(where, "a.bundle"))
    missing = refused(bundle_for(where.replace("hostname", "no-such-file"), "b.bundle"))
    for err in (existing, missing):
        assert "manifest is invalid" in err.message and digest not in err.message + err.hint
    # The same words whether or not the host file exists: no existence oracle.
    assert existing.message.replace("a.bundle", "B") == \
        missing.message.replace("b.bundle", "B").replace("no-such-file", "hostname")


def test_an_entry_the_manifest_does_not_list_is_refused(tmp_path: Path) -> None:
    bundle = tar_of(tmp_path / "extra.bundle", manifest(),
                    {"profile/hosted.yaml": PROFILE, "profile/evil.sh": b"#!/bin/sh\nrm -rf ~\n"})
    err = refused(bundle)
    assert "'profile/evil.sh'" in err.message and "not listed in the manifest" in err.message


@pytest.mark.parametrize("entry", ["profile/evil.sh", "/tmp/planted", "../planted"])
def test_entries_are_refused_before_any_directory_is_made(
        tmp_path: Path, own_cache: Path, monkeypatch: pytest.MonkeyPatch, entry: str) -> None:
    from hosted.images import bundle as bundle_module

    def no_directory(*args: Any, **kwargs: Any) -> str:
        raise AssertionError("a directory was made for a bundle that is refused by its index")

    monkeypatch.setattr(bundle_module.tempfile, "mkdtemp", no_directory)
    refused(tar_of(tmp_path / "x.bundle", manifest(), {"profile/hosted.yaml": PROFILE, entry: b"x"}))
    assert not own_cache.exists()


def test_every_listed_file_is_verified(tmp_path: Path) -> None:
    script = b"#!/bin/sh\necho hi\n"
    listed = manifest(files=[{"path": "profile/s.sh", "sha256": sha(b"other")}])
    bundle = tar_of(tmp_path / "bad.bundle", listed,
                    {"profile/hosted.yaml": PROFILE, "profile/s.sh": script})
    err = refused(bundle)
    assert "file profile/s.sh is corrupt" in err.message and sha(script) in err.message


def test_a_refused_bundle_leaves_no_trace(tmp_path: Path, own_cache: Path) -> None:
    bundle = tar_of(tmp_path / "bad.bundle", manifest(profile_sha256="1" * 64),
                    {"profile/hosted.yaml": PROFILE})
    refused(bundle)
    assert not own_cache.exists(), list(own_cache.rglob("*"))


def test_a_bundle_whose_profile_is_refused_leaves_no_trace(tmp_path: Path, own_cache: Path) -> None:
    from hosted.errors import ProfileError
    from hosted.profile import find_profile

    hostile = b"version: 1\nname: lab\nmachines:\n  web:\n    ssh: {user: \"root\\nProxyCommand id\"}\n"
    bundle = tar_of(tmp_path / "p.bundle", manifest(profile_sha256=sha(hostile)),
                    {"profile/hosted.yaml": hostile})
    with pytest.raises(ProfileError) as info:
        find_profile(bundle, {})
    err = info.value
    assert (err.file, err.line, err.key) == (f"{bundle}/profile/hosted.yaml", 5, "machines.web.ssh.user")
    assert ".extract-" not in str(err) + err.hint, "the removed extraction is not named"
    assert not own_cache.exists(), list(own_cache.rglob("*"))


# Defect 9: malformed manifests are a named error (exit 2), never a KeyError or TypeError.
MALFORMED = [
    [], "text", None, {}, manifest(hosted_bundle="1"), manifest(environment=3), manifest(environment="a b"),
    manifest(profile=None), manifest(profile="profile/x.txt"), manifest(profile_sha256="XYZ"),
    manifest(images={}), manifest(images=[1]), manifest(images=[{"name": "i"}]),
    manifest(images=[{"name": "i", "sha256": "0" * 64, "kind": "rpm", "path": "images/" + "0" * 64 + "/x"}]),
    manifest(images=[{"name": "i", "sha256": "0" * 64, "kind": "disk", "path": "images/" + "1" * 64 + "/x"}]),
    manifest(files="profile/x"), manifest(files=[{"path": "profile/a"}]),
    manifest(files=[{"path": "profile/a", "sha256": 5}]),
    manifest(files=[{"path": "elsewhere/a", "sha256": "0" * 64}]),
    manifest(files=[{"path": "profile/a\nb", "sha256": "0" * 64}]),
    manifest(files=[{"path": "profile/a", "sha256": "0" * 64}, {"path": "profile/a/b", "sha256": "0" * 64}]),
    manifest(files=[{"path": "profile/hosted.yaml", "sha256": "0" * 64}]),
]


@pytest.mark.parametrize("bad", MALFORMED)
def test_malformed_manifests_are_bundle_errors(tmp_path: Path, bad: Any) -> None:
    refused(tar_of(tmp_path / "m.bundle", bad, {"profile/hosted.yaml": PROFILE}))


def test_a_manifest_that_is_not_json_is_a_bundle_error(tmp_path: Path) -> None:
    bundle = tmp_path / "j.bundle"
    with tarfile.open(bundle, "w") as tar:
        data = b"[" * 100_000
        info = tarfile.TarInfo(MANIFEST)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    assert "not JSON" in refused(bundle).message


def test_a_truncated_bundle_is_invalid_input_and_leaves_no_trace(tmp_path: Path, own_cache: Path) -> None:
    pad = b"x" * 5000
    whole = tar_of(tmp_path / "whole.bundle", manifest(files=[{"path": "profile/pad", "sha256": sha(pad)}]),
                   {"profile/hosted.yaml": PROFILE, "profile/pad": pad})
    cut = tmp_path / "cut.bundle"
    cut.write_bytes(whole.read_bytes()[:4000])  # the manifest is whole, the padding file is not
    err = refused(cut)
    assert "not a readable archive" in err.message and "truncated" in err.hint
    assert not own_cache.exists(), list(own_cache.rglob("*"))


def test_a_file_that_is_not_a_tar_is_named_so_in_one_line(tmp_path: Path) -> None:
    junk = tmp_path / "junk.bundle"
    junk.write_bytes(b"not a tar at all")
    err = refused(junk)
    assert err.message == f"{junk} is not a hosted bundle (not a tar archive)"


# Defect 4 and 8: what `hosted bundle` packs.
@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    directory = tmp_path / "project"
    write(directory / "disk.vdi", DISK)
    write(directory / "src" / "app.py", b"print('hi')\n")
    write(directory / "keys" / "id_lab", b"-----BEGIN OPENSSH PRIVATE KEY-----\nxx\n")
    secret = write(tmp_path / "outside" / "secret.txt", b"not for the bundle")
    (directory / "src" / "leak").symlink_to(secret)
    (directory / "src" / "inner").symlink_to(directory / "src" / "app.py")
    (directory / "hosted.yaml").write_text(
        "version: 1\nname: lab\nimages:\n  disk: {source: disk.vdi}\n"
        "machines:\n  web:\n    image: disk\n    ssh: {private_key: keys/id_lab}\n"
        "    shared_folders: [{host: src, guest: /src}]\n")
    return directory


def members(bundle: Path) -> list[str]:
    with tarfile.open(bundle) as tar:
        return tar.getnames()


def test_bundle_packs_no_link_out_of_the_profile_directory(project: Path, tmp_path: Path) -> None:
    events = Recorder()
    summary = write_bundle(load_profile(project / "hosted.yaml"), tmp_path / "lab.bundle", events)
    names = members(summary.path)
    assert "profile/src/app.py" in names and "profile/src/inner" in names
    assert "profile/src/leak" not in names
    with tarfile.open(summary.path) as tar:
        assert all(not m.issym() and not m.islnk() for m in tar.getmembers())
        assert b"not for the bundle" not in b"".join(
            tar.extractfile(m).read() for m in tar.getmembers() if m.isfile())  # type: ignore[union-attr]
    warnings = events.messages("warning")
    assert any("leak" in w and "outside the profile's directory" in w for w in warnings), warnings
    assert any("keys/id_lab looks like a private key" in w for w in warnings), warnings
    assert load_profile(open_bundle(summary.path)).name == "lab", "the bundle it wrote opens"


def test_a_token_in_an_image_url_never_reaches_the_bundle_or_the_cache(tmp_path: Path,
                                                                       own_cache: Path) -> None:
    from imagekit import serving

    directory = tmp_path / "p"
    directory.mkdir()
    (directory / "hosted.yaml").write_text(
        "version: 1\nname: lab\nsecrets: [DL]\nimages:\n"
        f"  d: {{source: 'URL/d.vdi?token=${{DL}}', sha256: '{sha(DISK)}'}}\n"
        "machines:\n  web: {image: d}\n")
    with serving({"/d.vdi": DISK}) as server:
        text = (directory / "hosted.yaml").read_text().replace("URL", server.url(""))
        (directory / "hosted.yaml").write_text(text)
        server.files["/d.vdi?token=s3cr3t-t0ken"] = DISK
        env = load_profile(directory / "hosted.yaml", {"DL": "s3cr3t-t0ken"})
        assert env.secrets == ("s3cr3t-t0ken",)
        bundle = write_bundle(env, tmp_path / "lab.bundle").path
    assert b"s3cr3t-t0ken" not in bundle.read_bytes()
    for meta in own_cache.rglob("*.json"):
        assert "s3cr3t-t0ken" not in meta.read_text(), meta


# Signed bundles, with OpenSSH's own signatures.
def keypair(directory: Path, name: str) -> tuple[Path, str]:
    key = directory / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)], check=True)
    return key, (directory / f"{name}.pub").read_text().split()[1]


@pytest.fixture
def signed(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(a bundle signed by alice, alice's key, an allowed_signers file naming alice)."""
    alice, blob = keypair(tmp_path, "alice")
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f"alice@example.org ssh-ed25519 {blob}\n")
    bundle = tar_of(tmp_path / "lab.bundle", manifest(), {"profile/hosted.yaml": PROFILE})
    sign_bundle(bundle, alice)
    return bundle, alice, allowed


def test_a_signed_bundle_verifies_and_says_who_signed(signed: tuple[Path, Path, Path]) -> None:
    bundle, _, allowed = signed
    assert members(bundle)[:2] == [MANIFEST, "hosted-bundle.sig"]
    assert verify_bundle(bundle, allowed) == "alice@example.org"
    assert load_profile(open_bundle(bundle, allowed_signers=allowed)).name == "lab"


def test_a_signature_by_someone_else_is_refused(signed: tuple[Path, Path, Path], tmp_path: Path) -> None:
    bundle, _, _ = signed
    _, blob = keypair(tmp_path, "bob")
    only_bob = tmp_path / "bob_signers"
    only_bob.write_text(f"bob@example.org ssh-ed25519 {blob}\n")
    with pytest.raises(BadSignature) as info:
        verify_bundle(bundle, only_bob)
    assert info.value.exit_code == 2
    with pytest.raises(BadSignature):
        open_bundle(bundle, allowed_signers=only_bob)


def test_an_altered_manifest_breaks_the_signature(signed: tuple[Path, Path, Path], tmp_path: Path) -> None:
    bundle, _, allowed = signed
    altered = tmp_path / "altered.bundle"
    with tarfile.open(bundle) as src, tarfile.open(altered, "w") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == MANIFEST:
                data = data.replace(b'"lab"', b'"lab2"')
                member.size = len(data)
            dst.addfile(member, io.BytesIO(data))
    with pytest.raises(BadSignature):
        verify_bundle(altered, allowed)


def test_an_unsigned_bundle_is_named_as_such(tmp_path: Path, signed: tuple[Path, Path, Path]) -> None:
    _, _, allowed = signed
    plain = tar_of(tmp_path / "plain.bundle", manifest(), {"profile/hosted.yaml": PROFILE})
    with pytest.raises(UnsignedBundle) as info:
        verify_bundle(plain, allowed)
    assert isinstance(info.value, HostedError) and info.value.exit_code == 2


# The gate `up` passes a bundle through: a good signature, or the user's go-ahead.
def test_a_good_signature_vouches_without_asking(signed: tuple[Path, Path, Path], own_cache: Path) -> None:
    from hosted.images import require_trust
    from hosted.profile import locate_profile

    bundle, _, allowed = signed
    located = locate_profile(bundle, {}, allowed_signers=allowed)
    assert located.bundle is not None and located.profile == located.bundle.profile
    assert (located.bundle.signed, located.bundle.signer) == (True, "alice@example.org")
    events = Recorder()

    def never(questions: Any) -> bool:
        raise AssertionError("a bundle with a good signature is not asked about")

    require_trust(located.bundle, load_profile(located.profile, {}), confirm=never, emit=events)
    assert events.messages("info")[0] == "bundle lab.bundle: good signature by alice@example.org; it will:"


def test_a_bad_signature_is_refused_before_anything_is_extracted(signed: tuple[Path, Path, Path],
                                                                 tmp_path: Path, own_cache: Path) -> None:
    from hosted.profile import locate_profile

    bundle, _, _ = signed
    _, blob = keypair(tmp_path, "mallory")
    (tmp_path / "only_mallory").write_text(f"mallory ssh-ed25519 {blob}\n")
    with pytest.raises(BadSignature) as info:
        locate_profile(bundle, {}, allowed_signers=tmp_path / "only_mallory")
    assert info.value.exit_code == 2
    assert not own_cache.exists(), list(own_cache.rglob("*"))


@pytest.mark.parametrize("sign", [False, True])
def test_a_bundle_nobody_vouches_for_needs_the_users_go_ahead(signed: tuple[Path, Path, Path], tmp_path: Path,
                                                              sign: bool) -> None:
    from hosted.images import UnconfirmedBundle, require_trust
    from hosted.profile import locate_profile

    bundle, _, allowed = signed
    if not sign:
        bundle = tar_of(tmp_path / "plain.bundle", manifest(), {"profile/hosted.yaml": PROFILE})
        located = locate_profile(bundle, {}, allowed_signers=allowed)  # unsigned: opens, signer None
    else:
        located = locate_profile(bundle, {})  # signed, but no allowed signers given: not verified
    opened = located.bundle
    assert opened is not None and (opened.signed, opened.signer) == (sign, None)
    env = load_profile(located.profile, {})
    asked: list[list[str]] = []

    def answer(reply: bool) -> Any:
        def confirm(questions: Any) -> bool:
            asked.append(list(questions))
            return reply
        return confirm

    require_trust(opened, env, confirm=answer(True))
    assert asked[0][0].startswith(f"use the bundle {bundle.name} (")
    assert ("nobody you trust" if sign else "it is not signed") in asked[0][0]
    with pytest.raises(UnconfirmedBundle):
        require_trust(opened, env, confirm=answer(False))
    events = Recorder()
    with pytest.raises(UnconfirmedBundle) as info:
        require_trust(opened, env, confirm=None, emit=events)  # no terminal: refused, after saying why
    assert "--yes" in info.value.hint and events.messages("warning")
    events = Recorder()
    require_trust(opened, env, yes=True, emit=events)
    assert "used because of --yes" in events.messages("warning")[0]


def test_hosted_bundle_sign_writes_a_signed_bundle(project: Path, tmp_path: Path) -> None:
    import argparse

    from hosted.cli.image_cmds import cmd_bundle

    key, blob = keypair(tmp_path, "organiser")
    (tmp_path / "allowed").write_text(f"organiser ssh-ed25519 {blob}\n")
    out = tmp_path / "signed.bundle"
    args = argparse.Namespace(file=str(project / "hosted.yaml"), output=str(out), sign=str(key))
    assert cmd_bundle(args) == 0
    assert verify_bundle(out, tmp_path / "allowed") == "organiser"


def test_summarize_says_what_a_bundle_shares_copies_and_runs(project: Path, tmp_path: Path) -> None:
    (project / "setup.sh").write_text("#!/bin/sh\n")
    text = (project / "hosted.yaml").read_text() + (
        "    provision:\n"
        "      - shell: \"apt-get install -y ${PKG}\\necho done\"\n        privileged: true\n"
        "      - {shell: {script: setup.sh}}\n"
        "      - {file: {source: src, destination: /opt/src}}\n"
        "    nics: [{nat: {forwards: [{guest: 80, host: 8080, host_ip: 0.0.0.0}]}}]\n")
    (project / "hosted.yaml").write_text(text.replace("{host: src, guest: /src}",
                                                      "{host: src, guest: /src, readonly: false}"))
    env = load_profile(project / "hosted.yaml", {"PKG": "nginx"})
    lines = summarize(env)
    joined = "\n".join(lines)
    assert f"shares the host directory {project / 'src'} (READ-WRITE) at /src" in joined
    assert "runs in the guest as root: apt-get install -y nginx (+1 more lines)" in joined
    assert f"runs the host script {project / 'setup.sh'} in the guest" in joined
    assert f"copies the host path {project / 'src'} to /opt/src" in joined
    assert "opens port 8080 on every address of this host" in joined
    assert any(line.startswith("warning: ") for line in lines)


def test_summarize_redacts_secrets(tmp_path: Path) -> None:
    profile = tmp_path / "hosted.yaml"
    profile.write_text("version: 1\nname: t\nmachines:\n  web:\n    provision:\n"
                       "      - shell: 'curl -H \"Authorization: ${API_TOKEN}\" https://x'\n")
    lines = summarize(load_profile(profile, {"API_TOKEN": "abc123secret"}))
    assert "abc123secret" not in "\n".join(lines) and "***" in "\n".join(lines)


def test_the_manifest_digest_names_the_extraction(tmp_path: Path, own_cache: Path) -> None:
    bundle = tar_of(tmp_path / "ok.bundle", manifest(), {"profile/hosted.yaml": PROFILE})
    profile = open_bundle(bundle)
    raw = json.dumps(manifest()).encode()
    assert profile.parent.parent.name == hashlib.sha256(raw).hexdigest()[:32]
