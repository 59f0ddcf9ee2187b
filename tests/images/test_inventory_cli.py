"""The cache listing and pruning, through the library and the real entry point (`hosted images`,
`hosted bundle`, `hosted validate -f FILE.bundle`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import cli_support
import pytest
from imagekit import dead_url, serving, sha, vdi, write

from hosted.cli.main import main
from hosted.images import fetch, list_cache, prune_cache, store
from hosted.model import ImageSpec

ROOT = Path(__file__).resolve().parents[2]
A, B = vdi(64 * 1024), vdi(128 * 1024)


def age(digest: str, days: float) -> None:
    entry = store.read(digest)
    assert entry is not None
    store.write(store.Entry(**{**entry.__dict__, "last_used": time.time() - days * 86400}))


def test_prune_keeps_what_is_used_and_what_is_recent(tmp_path: Path) -> None:
    with serving({"/a.vdi": A, "/b.vdi": B}) as server:
        fetch(ImageSpec("a", server.url("/a.vdi"), sha256=sha(A)))
        fetch(ImageSpec("b", server.url("/b.vdi"), sha256=sha(B)))
    write(store.partial_path("f" * 64), b"x" * 100)
    assert {e.sha256 for e in list_cache()} == {sha(A), sha(B)}
    assert prune_cache(set(), older_than_days=30) == [], "both were used just now"
    age(sha(A), 40)
    age(sha(B), 40)
    removed = prune_cache({sha(B)}, older_than_days=30)
    assert [(r.sha256, r.what) for r in removed] == [(sha(A), "image")], \
        "the recent partial download stays too"
    assert removed[0].bytes >= len(A)
    assert not store.entry_dir(sha(A)).exists() and store.entry_dir(sha(B)).exists()
    removed = prune_cache(set())
    assert {(r.sha256, r.what) for r in removed} == {(sha(B), "image"), ("f" * 64, "partial download")}
    assert list_cache() == []


def test_prune_never_touches_a_local_source(tmp_path: Path) -> None:
    path = write(tmp_path / "a.vdi", A)
    fetch(ImageSpec("a", str(path)))
    assert [r.sha256 for r in prune_cache(set())] == [sha(A)]
    assert path.read_bytes() == A


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_images_pull_list_and_prune_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    cli_support.reset()
    monkeypatch.setenv("HOSTED_BACKEND", "cli_support:shared")  # prune asks VirtualBox what is in use
    monkeypatch.chdir(tmp_path / "..")
    with serving({"/a.vdi": A}) as server:
        profile = tmp_path / "hosted.yaml"
        profile.write_text(f"version: 1\nname: t\nimages:\n  a: {{source: '{server.url('/a.vdi')}', "
                           f"sha256: {sha(A)}}}\nmachines:\n  web: {{image: a}}\n")
        code, out, _ = run(capsys, "images", "pull", "-f", str(profile))
        assert code == 0 and f"a: disk, sha256 {sha(A)[:12]}" in out
        assert "downloading a: " in out and "(100%)" in out
        code, out, err = run(capsys, "images", "pull", "nope", "-f", str(profile))
        assert code == 2 and "no image named 'nope'" in err and "Images in this profile: a." in err
    code, out, _ = run(capsys, "images", "list", "--json")
    data = json.loads(out)
    assert (code, data["hosted_json"], data["kind"]) == (0, 1, "images")
    [item] = data["images"]
    assert (item["sha256"], item["name"], item["kind"], item["size"]) == (sha(A), "a", "disk", len(A))
    assert item["source"].endswith("/a.vdi") and item["last_used"].endswith("+00:00")
    code, out, _ = run(capsys, "images", "list")
    assert code == 0 and sha(A)[:12] in out and "disk" in out
    code, out, _ = run(capsys, "images", "prune", "--all", "--json", "-f", str(profile))
    assert json.loads(out)["removed"] == [] and json.loads(out)["kept_for_profile"] == [sha(A)]
    # No profile here, and no machine uses the image: it goes, but only when confirmed.
    code, out, err = run(capsys, "images", "prune", "--all")
    assert code == 1 and "need confirmation" in err and f"remove image {sha(A)[:12]}" in err
    assert store.entry_dir(sha(A)).is_dir()
    code, out, _ = run(capsys, "images", "prune", "--all", "--yes")
    assert code == 0 and f"removed image {sha(A)[:12]}" in out
    assert "Removed 1 cached file(s) and 0 template(s)" in out


def test_bundle_cli_and_validate_from_the_bundle(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    with serving({"/a.vdi": A}) as server:
        profile = tmp_path / "hosted.yaml"
        profile.write_text(f"version: 1\nname: lab\nimages:\n  a: {{source: '{server.url('/a.vdi')}', "
                           f"sha256: {sha(A)}}}\nmachines:\n  web: {{image: a}}\n")
        code, out, _ = run(capsys, "bundle", "-f", str(profile), "-o", str(tmp_path / "lab.bundle"))
    assert code == 0 and "wrote" in out and "hosted up -f" in out
    profile.write_text(profile.read_text().replace(server.url("/a.vdi"), dead_url()))
    monkeypatch.setenv("HOSTED_CACHE_DIR", str(tmp_path / "other" / "hosted"))
    code, out, err = run(capsys, "validate", "-f", str(tmp_path / "lab.bundle"))
    assert code == 0, err
    assert "environment 'lab'" in out and str(tmp_path / "other") in out
    code, _, err = run(capsys, "bundle", "-f", str(profile))
    assert code == 2 and "no output file" in err


def test_the_cli_in_a_subprocess_offline(tmp_path: Path) -> None:
    """`python -m hosted images pull` from a bundle's profile: the dead URL is never needed."""
    with serving({"/a.vdi": A}) as server:
        profile = tmp_path / "hosted.yaml"
        profile.write_text(f"version: 1\nname: lab\nimages:\n  a: {{source: '{server.url('/a.vdi')}', "
                           f"sha256: {sha(A)}}}\nmachines:\n  web: {{image: a}}\n")
        assert main(["bundle", "-f", str(profile), "-o", str(tmp_path / "lab.bundle")]) == 0
    env = {**os.environ, "HOSTED_CACHE_DIR": str(tmp_path / "fresh" / "hosted"), "NO_COLOR": "1",
           "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-m", "hosted", "images", "pull", "-f",
                             str(tmp_path / "lab.bundle")], capture_output=True, text=True, env=env,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert "a: disk" in result.stdout and "downloading" not in result.stdout
